"""Matter deletions recorded for the metrics refresh (reporting.metrics_models.MatterDeletion).

The refresh found the facts of deleted matters by checking every fact of every
customer contacted since the last run against interactions_matter: 1.9 s of
each 30-s refresh under the soak's sync (5,000 customers, half a million
matters), growing with every matter an install has ever had. A statement-level
trigger now records each deleted matter's id, and the refresh takes them.
"""

from django.db import migrations, models

CREATE_SQL = """
CREATE TABLE reporting_matterdeletion (matter_id bigint PRIMARY KEY);

CREATE FUNCTION reporting_matters_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reporting_matterdeletion (matter_id)
    SELECT id FROM deleted_matters
    ON CONFLICT (matter_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER interactions_matter_deletions AFTER DELETE ON interactions_matter
    REFERENCING OLD TABLE AS deleted_matters
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_matters_deleted();

-- Facts of matters deleted before this migration: the next refresh removes them.
INSERT INTO reporting_matterdeletion (matter_id)
SELECT mf.matter_id FROM followups_matterfact mf
WHERE NOT EXISTS (SELECT 1 FROM interactions_matter m WHERE m.id = mf.matter_id);
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS interactions_matter_deletions ON interactions_matter;
DROP FUNCTION IF EXISTS reporting_matters_deleted();
DROP TABLE IF EXISTS reporting_matterdeletion;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("interactions", "0003_interaction_details_matters_feedback"),
    ]

    operations = [
        migrations.CreateModel(
            name="MatterDeletion",
            fields=[("matter_id", models.BigIntegerField(primary_key=True, serialize=False))],
            options={"db_table": "reporting_matterdeletion", "managed": False},
        ),
        migrations.RunSQL(CREATE_SQL, DROP_SQL, elidable=False),
    ]
