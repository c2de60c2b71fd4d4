"""Contact figures kept by difference, as matter figures are (reporting.metrics_rollup).

A refresh regrouped every interaction of each day it touched: a second a refresh
once a busy sync's day held a million contacts, growing all day. Each contact now
has a ContactFact; a refresh subtracts the facts it changes and adds their new
values to ContactDay (and MatterDay from MatterFact), so one row per key
(unique constraints). Deleted interactions are recorded by a trigger, as deleted
matters are (0002), which also ends the rolling re-check of old days
(recheck_day). The contact rollup starts over: its rows are deleted and the next
refresh back-fills them with their facts, newest days first (the metrics page
computes a range not yet covered on the request meanwhile).
"""

from django.db import migrations, models

CREATE_SQL = """
CREATE TABLE reporting_interactiondeletion (interaction_id bigint PRIMARY KEY);

CREATE FUNCTION reporting_interactions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reporting_interactiondeletion (interaction_id)
    SELECT id FROM deleted_interactions
    ON CONFLICT (interaction_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER interactions_interaction_deletions AFTER DELETE ON interactions_interaction
    REFERENCING OLD TABLE AS deleted_interactions
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_interactions_deleted();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS interactions_interaction_deletions ON interactions_interaction;
DROP FUNCTION IF EXISTS reporting_interactions_deleted();
DROP TABLE IF EXISTS reporting_interactiondeletion;
"""

# Both ways: the contact rollup is rebuilt from scratch by the next refresh.
RESTART_SQL = """
DELETE FROM followups_contactday;
DELETE FROM followups_rollupstate WHERE name = 'contacts';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_rollupstate_snapshot_xmin"),
    ]

    operations = [
        migrations.RunSQL(RESTART_SQL, RESTART_SQL, elidable=False),
        migrations.RunSQL(CREATE_SQL, DROP_SQL, elidable=False),
        migrations.CreateModel(
            name="InteractionDeletion",
            fields=[
                ("interaction_id", models.BigIntegerField(primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "reporting_interactiondeletion",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="ContactFact",
            fields=[
                ("interaction_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("day", models.DateField()),
                ("team_id", models.BigIntegerField()),
                ("rep_id", models.BigIntegerField()),
                ("channel", models.CharField(blank=True, max_length=16)),
                ("outcome", models.CharField(blank=True, max_length=32)),
                ("complaint_category", models.CharField(blank=True, max_length=40)),
                ("with_customer", models.BooleanField()),
                ("responded", models.BooleanField()),
                ("score", models.IntegerField(blank=True, null=True)),
                ("duration_seconds", models.BigIntegerField()),
            ],
            options={
                "db_table": "reporting_contactfact",
            },
        ),
        migrations.RemoveField(
            model_name="rollupstate",
            name="recheck_day",
        ),
        migrations.AddConstraint(
            model_name="contactday",
            constraint=models.UniqueConstraint(
                fields=(
                    "day",
                    "level",
                    "team_id",
                    "rep_id",
                    "channel",
                    "outcome",
                    "complaint_category",
                ),
                name="reporting_contactday_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="matterday",
            constraint=models.UniqueConstraint(
                fields=("day", "level", "team_id", "rep_id", "channel"),
                name="reporting_matterday_key",
            ),
        ),
        migrations.AddIndex(
            model_name="contactfact",
            index=models.Index(fields=["day"], name="reporting_contactfact_day"),
        ),
    ]
