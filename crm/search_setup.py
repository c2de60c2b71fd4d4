"""Per-connection settings name search relies on (PostgreSQL only)."""

# pg_trgm's default word-similarity threshold (0.6) misses a single typo in a
# short name ("Moreua" for "Moreau" scores 0.57); 0.5 finds it, and ranking puts
# exact and prefix matches first anyway.
# https://www.postgresql.org/docs/current/pgtrgm.html#PGTRGM-GUC
WORD_SIMILARITY_THRESHOLD = 0.5


def on_connection_created(sender, connection, **kwargs) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
            [str(WORD_SIMILARITY_THRESHOLD)],
        )
