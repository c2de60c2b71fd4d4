"""Name search by word (crm.search): the distinct name words and, per active
customer, each of its name words, both kept by triggers on crm_customer."""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models

# Written only by the triggers below, so every path that writes customers
# (services, QuerySet.update(), bulk SQL, seed_demo, merge, erasure) keeps
# them right, and a name's words leave with the name.
CREATE_SQL = """
-- Each distinct word of active customers' search names.
CREATE TABLE crm_customernametoken (
    token text COLLATE "C" PRIMARY KEY
);
-- Partial and typo-tolerant matching of one query word against all name words.
-- fastupdate off: no pending list for searches to scan; writes are few and small.
CREATE INDEX crm_customernametoken_trgm ON crm_customernametoken
    USING gin (token gin_trgm_ops) WITH (fastupdate = off);

-- Each word of each active (not merged) customer's search_name, at its position,
-- with the name lists sort by: ranking reads only these indexes, never the
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

-- Words arriving with a customer. A shared lock on each known word (writers of
-- the same words never wait for each other: no hot row) keeps a concurrent
-- crm_name_tokens_forget() from deleting it before this transaction's words
-- are visible; unknown words are added.
CREATE FUNCTION crm_name_tokens_keep(words text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM crm_customernametoken WHERE token = ANY(words) FOR KEY SHARE;
    INSERT INTO crm_customernametoken (token)
    SELECT DISTINCT token FROM unnest(words) AS token WHERE token <> '' ORDER BY token
    ON CONFLICT (token) DO NOTHING;
END $$;

-- Words leaving with a customer: deleted when no active customer has them any
-- more. Locked first (in word order), then checked again with a fresh snapshot,
-- so a customer given the word by a transaction that was still running is seen.
CREATE FUNCTION crm_name_tokens_forget(words text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM crm_customernametoken AS known
    WHERE known.token = ANY(words)
      AND NOT EXISTS (SELECT 1 FROM crm_customernameword AS word WHERE word.token = known.token)
    ORDER BY known.token FOR UPDATE;
    DELETE FROM crm_customernametoken AS known
    WHERE known.token = ANY(words)
      AND NOT EXISTS (SELECT 1 FROM crm_customernameword AS word WHERE word.token = known.token);
END $$;

CREATE FUNCTION crm_name_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_name_tokens_keep(ARRAY(
        SELECT DISTINCT token
        FROM inserted_rows AS customer,
             unnest(string_to_array(customer.search_name::text, ' ')) AS token
        WHERE customer.merged_into_id IS NULL));
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
    DELETE FROM crm_customernameword WHERE customer_id IN (SELECT id FROM deleted_rows);
    PERFORM crm_name_tokens_forget(ARRAY(
        SELECT DISTINCT token
        FROM deleted_rows AS customer,
             unnest(string_to_array(customer.search_name::text, ' ')) AS token));
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_words text[] := '{}';
BEGIN
    DELETE FROM crm_customernameword WHERE customer_id = OLD.id;
    IF NEW.merged_into_id IS NULL THEN
        new_words := string_to_array(NEW.search_name::text, ' ');
        PERFORM crm_name_tokens_keep(new_words);
        INSERT INTO crm_customernameword (customer_id, token, position, full_name)
        SELECT NEW.id, word.token, word.position, NEW.full_name
        FROM unnest(new_words) WITH ORDINALITY AS word(token, position)
        WHERE word.token <> '';
    END IF;
    PERFORM crm_name_tokens_forget(ARRAY(
        SELECT token FROM unnest(string_to_array(OLD.search_name::text, ' ')) AS token
        EXCEPT SELECT unnest(new_words)));
    RETURN NULL;
END $$;

CREATE FUNCTION crm_name_words_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crm_customernameword;
    DELETE FROM crm_customernametoken;
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
INSERT INTO crm_customernameword (customer_id, token, position, full_name)
SELECT customer.id, word.token, word.position, customer.full_name
FROM crm_customer AS customer,
     unnest(string_to_array(customer.search_name::text, ' '))
         WITH ORDINALITY AS word(token, position)
WHERE customer.merged_into_id IS NULL AND word.token <> '';
INSERT INTO crm_customernametoken (token)
SELECT DISTINCT token FROM crm_customernameword ORDER BY token;
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
DROP FUNCTION IF EXISTS crm_name_tokens_keep(text[]);
DROP FUNCTION IF EXISTS crm_name_tokens_forget(text[]);
DROP TABLE IF EXISTS crm_customernameword;
DROP TABLE IF EXISTS crm_customernametoken;
"""


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
        migrations.RunSQL([CREATE_SQL], [DROP_SQL]),
    ]
