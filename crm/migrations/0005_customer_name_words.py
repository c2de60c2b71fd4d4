"""Name search by word (crm.search): the table of distinct name words, kept by
triggers, and a GIN index on each customer's name words. PostgreSQL only: the
SQLite file `make run` uses searches with LIKE."""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models

# Each name word with the number of customers whose search_name has it. Written
# only by the triggers below, so every path that writes names (services,
# QuerySet.update(), bulk SQL, seed_demo, erasure) keeps it right, and a word
# nobody has any more is deleted with its last customer.
CREATE_SQL = """
CREATE TABLE crm_customernametoken (
    token text COLLATE "C" PRIMARY KEY,
    customers integer NOT NULL CHECK (customers >= 0)
);
-- Partial and typo-tolerant matching of one word against all name words.
-- fastupdate off: no pending list for searches to scan; writes are few and small.
CREATE INDEX crm_customernametoken_trgm ON crm_customernametoken
    USING gin (token gin_trgm_ops) WITH (fastupdate = off);
-- The customers having any of a set of words (&&).
CREATE INDEX crm_customer_name_words ON crm_customer
    USING gin (string_to_array(search_name, ' ')) WITH (fastupdate = off);

-- Counts the distinct words of names leaving (removed) and arriving (added):
-- words whose count falls to zero are deleted. Existing rows are locked in
-- word order, so concurrent writers wait for each other instead of deadlocking.
CREATE FUNCTION crm_name_words_count(removed text[], added text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    words text[];
    changes integer[];
BEGIN
    SELECT array_agg(token ORDER BY token), array_agg(change ORDER BY token)
    INTO words, changes
    FROM (
        SELECT token, sum(sign)::integer AS change
        FROM (
            SELECT DISTINCT name.sign, name.ordinality, token
            FROM (
                SELECT -1 AS sign, value, ordinality
                FROM unnest(removed) WITH ORDINALITY AS removed_name(value, ordinality)
                UNION ALL
                SELECT 1, value, ordinality
                FROM unnest(added) WITH ORDINALITY AS added_name(value, ordinality)
            ) AS name,
            unnest(string_to_array(name.value, ' ')) AS token
            WHERE token <> ''
        ) AS name_words
        GROUP BY token
        HAVING sum(sign) <> 0
    ) AS net;
    IF words IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM crm_customernametoken
    WHERE token = ANY(words) ORDER BY token FOR NO KEY UPDATE;
    INSERT INTO crm_customernametoken AS known (token, customers)
    SELECT token, change FROM unnest(words, changes) AS net(token, change)
    WHERE change > 0 ORDER BY token
    ON CONFLICT (token) DO UPDATE SET customers = known.customers + excluded.customers;
    UPDATE crm_customernametoken AS known
    SET customers = greatest(known.customers + net.change, 0)
    FROM unnest(words, changes) AS net(token, change)
    WHERE net.change < 0 AND known.token = net.token;
    DELETE FROM crm_customernametoken WHERE token = ANY(words) AND customers = 0;
END $$;

CREATE FUNCTION crm_name_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_name_words_count('{}', ARRAY(SELECT search_name::text FROM inserted_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_name_words_count(ARRAY(SELECT search_name::text FROM deleted_rows), '{}');
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_name_words_count(ARRAY[OLD.search_name::text], ARRAY[NEW.search_name::text]);
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crm_customernametoken;
    RETURN NULL;
END $$;

-- Statement level for inserts and deletes: a bulk load of a million customers
-- counts its words in one statement. Row level for updates, and only when the
-- name changes: most updates (last activity, profile fields) cost nothing.
CREATE TRIGGER crm_customer_name_words_insert AFTER INSERT ON crm_customer
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION crm_name_words_inserted();
CREATE TRIGGER crm_customer_name_words_delete AFTER DELETE ON crm_customer
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION crm_name_words_deleted();
CREATE TRIGGER crm_customer_name_words_update AFTER UPDATE OF search_name ON crm_customer
    FOR EACH ROW WHEN (OLD.search_name IS DISTINCT FROM NEW.search_name)
    EXECUTE FUNCTION crm_name_words_renamed();
CREATE TRIGGER crm_customer_name_words_truncate AFTER TRUNCATE ON crm_customer
    FOR EACH STATEMENT EXECUTE FUNCTION crm_name_words_truncated();

-- The customers already there.
SELECT crm_name_words_count('{}', ARRAY(SELECT search_name::text FROM crm_customer));
ANALYZE crm_customernametoken;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS crm_customer_name_words_insert ON crm_customer;
DROP TRIGGER IF EXISTS crm_customer_name_words_delete ON crm_customer;
DROP TRIGGER IF EXISTS crm_customer_name_words_update ON crm_customer;
DROP TRIGGER IF EXISTS crm_customer_name_words_truncate ON crm_customer;
DROP FUNCTION IF EXISTS crm_name_words_inserted();
DROP FUNCTION IF EXISTS crm_name_words_deleted();
DROP FUNCTION IF EXISTS crm_name_words_renamed();
DROP FUNCTION IF EXISTS crm_name_words_truncated();
DROP FUNCTION IF EXISTS crm_name_words_count(text[], text[]);
DROP INDEX IF EXISTS crm_customer_name_words;
DROP TABLE IF EXISTS crm_customernametoken;
"""


def create_name_words(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL)


def drop_name_words(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_api_clients"),
    ]

    operations = [
        # levenshtein_less_equal(): typo candidates among the name words.
        CreateExtension("fuzzystrmatch"),
        migrations.CreateModel(
            name="CustomerNameToken",
            fields=[
                ("token", models.TextField(db_collation="C", primary_key=True, serialize=False)),
                ("customers", models.PositiveIntegerField()),
            ],
            options={
                "managed": False,
            },
        ),
        migrations.RunPython(create_name_words, drop_name_words),
    ]
