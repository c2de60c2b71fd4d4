"""The merge queue without grouping every contact point (issue 16: lists stay flat).

`crm.selectors.duplicate_groups` grouped all phone and e-mail contact points
by value to find the shared ones: 3 s for 1,000,000 contact points, on every
view of /customers/duplicates/ and GET /api/v1/customers/duplicates/. Now
crm_contactvaluecount holds how many contact points hold each value, kept by
triggers on crm_contactpoint however it is written (as 0005 keeps the name
words), and a partial index holds the values held more than once, most first.
"""

from django.db import migrations, models

CREATE_SQL = """
CREATE TABLE crm_contactvaluecount (
    kind varchar(16) NOT NULL,
    value varchar(320) NOT NULL,
    points integer NOT NULL,
    PRIMARY KEY (kind, value)
);
-- The merge queue's candidates: shared values, most shared first.
CREATE INDEX crm_contactvaluecount_shared ON crm_contactvaluecount
    (points DESC, kind, value) WHERE points > 1;

-- Counts rows are locked in (kind, value) order by every writer, so two
-- transactions touching the same values never wait for each other in a circle.
CREATE FUNCTION crm_contact_values_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crm_contactvaluecount AS counted (kind, value, points)
    SELECT point.kind, point.value, count(*)
    FROM inserted_rows AS point
    WHERE point.kind IN ('phone', 'email')
    GROUP BY point.kind, point.value
    ORDER BY point.kind, point.value
    ON CONFLICT (kind, value) DO UPDATE SET points = counted.points + EXCLUDED.points;
    RETURN NULL;
END $$;

CREATE FUNCTION crm_contact_values_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM crm_contactvaluecount AS counted
    WHERE (counted.kind, counted.value) IN (SELECT kind, value FROM deleted_rows)
    ORDER BY counted.kind, counted.value
    FOR UPDATE;
    UPDATE crm_contactvaluecount AS counted SET points = counted.points - gone.points
    FROM (
        SELECT kind, value, count(*) AS points FROM deleted_rows
        WHERE kind IN ('phone', 'email') GROUP BY kind, value
    ) AS gone
    WHERE counted.kind = gone.kind AND counted.value = gone.value;
    DELETE FROM crm_contactvaluecount AS counted
    WHERE counted.points <= 0
      AND (counted.kind, counted.value) IN (SELECT kind, value FROM deleted_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION crm_contact_values_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM crm_contactvaluecount AS counted
    WHERE (counted.kind, counted.value) IN ((OLD.kind, OLD.value), (NEW.kind, NEW.value))
    ORDER BY counted.kind, counted.value
    FOR UPDATE;
    IF OLD.kind IN ('phone', 'email') THEN
        UPDATE crm_contactvaluecount SET points = points - 1
        WHERE kind = OLD.kind AND value = OLD.value;
        DELETE FROM crm_contactvaluecount
        WHERE kind = OLD.kind AND value = OLD.value AND points <= 0;
    END IF;
    IF NEW.kind IN ('phone', 'email') THEN
        INSERT INTO crm_contactvaluecount AS counted (kind, value, points)
        VALUES (NEW.kind, NEW.value, 1)
        ON CONFLICT (kind, value) DO UPDATE SET points = counted.points + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION crm_contact_values_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crm_contactvaluecount;
    RETURN NULL;
END $$;

-- Statement level for inserts and deletes (an import of a million contact points
-- counts them in one statement); row level for the rare change of a value.
CREATE TRIGGER crm_contactpoint_values_insert AFTER INSERT ON crm_contactpoint
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_values_inserted();
CREATE TRIGGER crm_contactpoint_values_delete AFTER DELETE ON crm_contactpoint
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_values_deleted();
CREATE TRIGGER crm_contactpoint_values_update AFTER UPDATE OF kind, value ON crm_contactpoint
    FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.value IS DISTINCT FROM NEW.value)
    EXECUTE FUNCTION crm_contact_values_updated();
CREATE TRIGGER crm_contactpoint_values_truncate AFTER TRUNCATE ON crm_contactpoint
    FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_values_truncated();

-- The contact points already there.
INSERT INTO crm_contactvaluecount (kind, value, points)
SELECT kind, value, count(*) FROM crm_contactpoint
WHERE kind IN ('phone', 'email') GROUP BY kind, value;
ANALYZE crm_contactvaluecount;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS crm_contactpoint_values_insert ON crm_contactpoint;
DROP TRIGGER IF EXISTS crm_contactpoint_values_delete ON crm_contactpoint;
DROP TRIGGER IF EXISTS crm_contactpoint_values_update ON crm_contactpoint;
DROP TRIGGER IF EXISTS crm_contactpoint_values_truncate ON crm_contactpoint;
DROP FUNCTION IF EXISTS crm_contact_values_inserted();
DROP FUNCTION IF EXISTS crm_contact_values_deleted();
DROP FUNCTION IF EXISTS crm_contact_values_updated();
DROP FUNCTION IF EXISTS crm_contact_values_truncated();
DROP TABLE IF EXISTS crm_contactvaluecount;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0009_list_indexes")]

    operations = [
        migrations.CreateModel(
            name="ContactValueCount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "kind",
                        "value",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("kind", models.CharField(max_length=16)),
                ("value", models.CharField(max_length=320)),
                ("points", models.IntegerField()),
            ],
            options={"managed": False},
        ),
        migrations.RunSQL(CREATE_SQL, DROP_SQL, elidable=False),
    ]
