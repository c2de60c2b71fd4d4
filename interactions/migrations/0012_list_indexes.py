"""A rep's and a team's interactions newest first (issue 16: lists stay flat).

GET /api/v1/interactions/?rep= sorted the rep's whole history for each page
and counted it through the foreign key's index (about 0.9 s for a rep with
50,000 interactions in a table of 10 million). (rep, -occurred_at, -id) and
(team, -occurred_at, -id) serve the page, its capped count and the foreign-key
lookups, so they replace the foreign keys' own indexes: no more index writes
per contact logged than before.

The new indexes are built CONCURRENTLY (a live table keeps taking writes, so
the migration is not atomic) before the old ones go. Reversible.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0001_initial"),
        ("interactions", "0011_interaction_events"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="interaction",
            index=models.Index(fields=["rep", "-occurred_at", "-id"], name="interactions_rep_idx"),
        ),
        AddIndexConcurrently(
            model_name="interaction",
            index=models.Index(
                fields=["team", "-occurred_at", "-id"], name="interactions_team_idx"
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="rep",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interactions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="team",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interactions",
                to="crm.team",
            ),
        ),
    ]
