"""Name search by word (crm.search): the distinct name words and, per active
customer, each of its name words, both kept by triggers on crm_customer.
PostgreSQL only: the SQLite file `make run` uses searches with LIKE."""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models

# Written only by the triggers below, so every path that writes customers
# (services, QuerySet.update(), bulk SQL, seed_demo, merge, erasure) keeps
# them right, and a name's words leave with the name.
CREATE_SQL = """
-- Each distinct name word with the number of customers whose search_name has it.
CREATE TABLE crm_customernametoken (
    token text COLLATE "C" PRIMARY KEY,
    customers integer NOT NULL CHECK (customers >= 0)
);
-- Partial and typo-tolerant matching of one query word against all name words.
-- fastupdate off: no pending list for searches to scan; writes are few and small.
CREATE INDEX crm_customernametoken_trgm ON crm_customernametoken
    USING gin (token gin_trgm_ops) WITH (fastupdate = off);

-- Each word of each active (not merged) customer's search_name, at its position,
-- with the name lists sort by: ranking reads only this index, never the
-- customers' rows.
CREATE TABLE crm_customernameword (
    customer_id bigint NOT NULL,
    token text COLLATE "C" NOT NULL,
    position smallint NOT NULL,
    full_name text NOT NULL
);
CREATE INDEX crm_customernameword_token ON crm_customernameword
    (token, customer_id) INCLUDE (position, full_name);
CREATE INDEX crm_customernameword_customer ON crm_customernameword
    (customer_id) INCLUDE (token, position, full_name);

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
    INSERT INTO crm_customernameword (customer_id, token, position, full_name)
    SELECT customer.id, word.token, word.position, customer.full_name
    FROM inserted_rows AS customer,
         unnest(string_to_array(customer.search_name::text, ' '))
             WITH ORDINALITY AS word(token, position)
    WHERE customer.merged_into_id IS NULL AND word.token <> '';
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_name_words_count(ARRAY(SELECT search_name::text FROM deleted_rows), '{}');
    DELETE FROM crm_customernameword
    WHERE customer_id IN (SELECT id FROM deleted_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.search_name IS DISTINCT FROM NEW.search_name THEN
        PERFORM crm_name_words_count(
            ARRAY[OLD.search_name::text], ARRAY[NEW.search_name::text]);
    END IF;
    DELETE FROM crm_customernameword WHERE customer_id = OLD.id;
    IF NEW.merged_into_id IS NULL THEN
        INSERT INTO crm_customernameword (customer_id, token, position, full_name)
        SELECT NEW.id, word.token, word.position, NEW.full_name
        FROM unnest(string_to_array(NEW.search_name::text, ' '))
            WITH ORDINALITY AS word(token, position)
        WHERE word.token <> '';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crm_customernametoken;
    DELETE FROM crm_customernameword;
    RETURN NULL;
END $$;

-- Statement level for inserts and deletes: a bulk load of a million customers
-- writes its words in one statement. Row level for updates, and only when the
-- name or the merge changes: most updates (last activity, profile) cost nothing.
CREATE TRIGGER crm_customer_name_words_insert AFTER INSERT ON crm_customer
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION crm_name_words_inserted();
CREATE TRIGGER crm_customer_name_words_delete AFTER DELETE ON crm_customer
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION crm_name_words_deleted();
CREATE TRIGGER crm_customer_name_words_update
    AFTER UPDATE OF search_name, full_name, merged_into_id ON crm_customer
    FOR EACH ROW WHEN (
        OLD.search_name IS DISTINCT FROM NEW.search_name
        OR OLD.full_name IS DISTINCT FROM NEW.full_name
        OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id
    )
    EXECUTE FUNCTION crm_name_words_updated();
CREATE TRIGGER crm_customer_name_words_truncate AFTER TRUNCATE ON crm_customer
    FOR EACH STATEMENT EXECUTE FUNCTION crm_name_words_truncated();

-- The customers already there.
SELECT crm_name_words_count('{}', ARRAY(SELECT search_name::text FROM crm_customer));
INSERT INTO crm_customernameword (customer_id, token, position, full_name)
SELECT customer.id, word.token, word.position, customer.full_name
FROM crm_customer AS customer,
     unnest(string_to_array(customer.search_name::text, ' '))
         WITH ORDINALITY AS word(token, position)
WHERE customer.merged_into_id IS NULL AND word.token <> '';
ANALYZE crm_customernametoken;
ANALYZE crm_customernameword;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS crm_customer_name_words_insert ON crm_customer;
DROP TRIGGER IF EXISTS crm_customer_name_words_delete ON crm_customer;
DROP TRIGGER IF EXISTS crm_customer_name_words_update ON crm_customer;
DROP TRIGGER IF EXISTS crm_customer_name_words_truncate ON crm_customer;
DROP FUNCTION IF EXISTS crm_name_words_inserted();
DROP FUNCTION IF EXISTS crm_name_words_deleted();
DROP FUNCTION IF EXISTS crm_name_words_updated();
DROP FUNCTION IF EXISTS crm_name_words_truncated();
DROP FUNCTION IF EXISTS crm_name_words_count(text[], text[]);
DROP TABLE IF EXISTS crm_customernameword;
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
        migrations.CreateModel(
            name="CustomerNameWord",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "customer_id",
                        "token",
                        "position",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("customer_id", models.BigIntegerField()),
                ("token", models.TextField(db_collation="C")),
                ("position", models.SmallIntegerField()),
                ("full_name", models.TextField()),
            ],
            options={
                "managed": False,
            },
        ),
        migrations.RunPython(create_name_words, drop_name_words),
    ]
