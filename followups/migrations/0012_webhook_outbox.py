"""The webhook outbox: one narrow row per writing transaction, fanned out off the sweep.

Deliveries keep their event's time (`occurred_at`), filled from the event for
the rows written before.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import migrations, models

BACKFILL = """
UPDATE followups_webhookdelivery d SET occurred_at = e.occurred_at
FROM followups_followupevent e WHERE e.id = d.event_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0011_time_window"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookOutbox",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_ids", ArrayField(base_field=models.BigIntegerField(), size=None)),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="occurred_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="occurred_at",
            field=models.DateTimeField(),
        ),
    ]
