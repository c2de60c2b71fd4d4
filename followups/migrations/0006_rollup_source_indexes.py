"""Indexes on the interaction log that the metrics rollup's refresh reads by.

The refresh recomputes the days it is told changed (interactions by
occurred_at) and finds changed matters by updated_at; without these it would
read the whole tables every sweep interval. They belong to interactions'
tables but serve only followups/metrics_rollup.py, so they live here (and go
with this migration) until interactions declares them in its own models.
"""

from django.db import migrations

INDEXES = [
    ("followups_rollup_interaction_day", "interactions_interaction", "occurred_at"),
    ("followups_rollup_matter_updated", "interactions_matter", "updated_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0005_metrics_rollups"),
        ("interactions", "0004_sentiment_score_validators"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
            reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
        )
        for name, table, column in INDEXES
    ]
