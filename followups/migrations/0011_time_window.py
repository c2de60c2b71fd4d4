"""Follow-ups are due inside the stored time window (crm/time_window.py).

Added NOT VALID, then validated only when every existing row already fits: a
database holding older out-of-range rows (written before this check) still
migrates, refuses new ones, and reads the old ones clamped (config/postgresql);
`ALTER TABLE followups_followup VALIDATE CONSTRAINT ...` once they are fixed.
"""

import datetime

from django.db import migrations, models

TABLE = "followups_followup"
NAME = "followups_due_at_in_time_window"
CHECK = "due_at >= '1970-01-01T00:00:00+00:00' AND due_at < '2200-01-01T00:00:00+00:00'"
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
        ("followups", "0010_webhooks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(ADD, reverse_sql=f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}")
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="followup",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("due_at__gte", datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)),
                            ("due_at__lt", datetime.datetime(2200, 1, 1, tzinfo=datetime.UTC)),
                        ),
                        name=NAME,
                    ),
                ),
            ],
        ),
    ]
