"""Interactions happened inside the stored time window (crm/time_window.py), and a
recording link is https: (crm.validators.validate_recording_url).

The check is added NOT VALID, then validated only when every existing row already
fits: a database holding older out-of-range rows (written before this check)
still migrates, refuses new ones, and reads the old ones clamped
(config/postgresql); `ALTER TABLE interactions_interaction VALIDATE CONSTRAINT
...` once they are fixed.
"""

import datetime

from django.db import migrations, models

import crm.validators

TABLE = "interactions_interaction"
NAME = "interactions_occurred_at_in_time_window"
CHECK = "occurred_at >= '1970-01-01T00:00:00+00:00' AND occurred_at < '2200-01-01T00:00:00+00:00'"
ADD = f"""
ALTER TABLE {TABLE} ADD CONSTRAINT {NAME} CHECK ({CHECK}) NOT VALID;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM {TABLE} WHERE NOT ({CHECK})) THEN
        ALTER TABLE {TABLE} VALIDATE CONSTRAINT {NAME};
    END IF;
END $$;
"""  # noqa: S608 - constants only


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0008_fewer_index_writes_per_contact"),
    ]

    operations = [
        migrations.AlterField(
            model_name="interaction",
            name="recording_url",
            field=models.URLField(
                blank=True,
                default="",
                max_length=500,
                validators=[crm.validators.validate_recording_url],
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(ADD, reverse_sql=f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}")
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="interaction",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            (
                                "occurred_at__gte",
                                datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
                            ),
                            ("occurred_at__lt", datetime.datetime(2200, 1, 1, tzinfo=datetime.UTC)),
                        ),
                        name=NAME,
                    ),
                ),
            ],
        ),
    ]
