"""Keeping the metrics rollups (reporting/metrics_models.py) up to date.

`metrics_rollup_refresh` runs from the `reporting.tasks.metrics_refresh` beat
task every FOLLOWUP_SWEEP_SECONDS. Each run, per rollup:

1. Incremental: source rows changed since the rollup's watermark (minus
   WATERMARK_OVERLAP) are found by indexed updated_at (feedback by id), less
   those whose transaction had ended when the last refresh read (xmin against
   RollupState.snapshot_xmin); deleted rows are recorded by triggers
   (MatterDeletion, InteractionDeletion). The watermark is not the refresh's own
   instant but the start of the oldest transaction then still open on the
   database that has written (`pg_stat_activity`): a row such a transaction
   wrote, invisible to the refresh, is committed later with an older updated_at,
   and the next refresh still reaches back to it however long the transaction
   ran. WATERMARK_OVERLAP only covers what the database cannot see: the moment
   between an application process reading its clock for updated_at and writing
   the row, and the clocks' skew. Each changed row's fact (one per interaction,
   matter or promise) is recomputed; contact and matter day rows are kept by
   difference (the old fact subtracted, the new one added: the cost is the
   changes', whatever a day holds), promise days are recomputed from their facts.
   A fact keeps its old day, so a row that moved leaves its old day too; a run
   that finds nothing new changes nothing.
2. Back-fill: on a fresh install, days before `covered_from` are computed a
   chunk at a time (facts, then their day rows), newest first, within a time
   budget; the metrics page computes on the request any range that reaches
   before `covered_from`.

All SQL is PostgreSQL (GROUPING SETS).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter, sleep

from django.conf import settings
from django.db import connection, transaction

from reporting.metrics_models import RollupState

CONTACTS = "contacts"
MATTERS = "matters"
PROMISES = "promises"
ROLLUPS = (CONTACTS, MATTERS, PROMISES)

# Before the oldest transaction open at the last refresh: what a process may take
# between reading its clock for updated_at and starting the transaction that writes
# it, plus clock skew between hosts. (It was 5 minutes for every transaction: under a
# sync of 1,000 records/s each 30-s refresh re-read 300,000 rows it had already folded.)
WATERMARK_OVERLAP = timedelta(minutes=1)
FEEDBACK_ID_OVERLAP = 1000
BACKFILL_CHUNK_DAYS = 14
REPEAT_WINDOW_DAYS = 30  # the longest repeat window (reporting.contact_selectors)
LOCK_KEY = 7_000_007  # pg_advisory_xact_lock: one refresh at a time

# Facts recomputed per statement: a refresh after a busy interval (or behind a long
# transaction) touches every matter and promise written since (300,000 matters under a
# 1,000 records/s sync); a chunk at a time keeps each statement's id list and
# materialized rows small, whatever the interval held.
FACT_CHUNK_ROWS = 5_000

# A row written by a transaction that the last refresh saw committed was folded in by
# it: only rows whose xmin is at or after the oldest transaction then still running
# (RollupState.snapshot_xmin) are recomputed, in modulo-2^32 order as PostgreSQL
# compares transaction ids (the rows updated_at finds are recent ones). Subtransaction
# ids (a savepoint's writes) are never below their transaction's, so they count too.
# updated_at alone reaches back over WATERMARK_OVERLAP and the longest writer: each
# matter of a busy sync was recomputed by three refreshes in a row.
_WRITTEN_SINCE = (
    "(%(xmin)s::bigint IS NULL OR "
    "((xmin::text::bigint - %(xmin)s::bigint) & 4294967295) < 2147483648)"
)

# Lateness buckets: 0 under a minute, then 16 a doubling (each ~4.4 % wide).
LATENESS_BUCKETS_PER_DOUBLING = 16


def lateness_bucket(seconds: float) -> int:
    if seconds < 60:
        return 0
    return 1 + math.floor(LATENESS_BUCKETS_PER_DOUBLING * math.log2(seconds / 60))


_BUCKET_SQL = (
    "CASE WHEN lateness_seconds < 60 THEN 0 ELSE 1 + floor("
    f"{LATENESS_BUCKETS_PER_DOUBLING} * ln(lateness_seconds / 60.0) / ln(2))::int END"
)

# Level from GROUPING(team_id, rep_id): 3 = neither (all teams), 1 = team, 0 = team and rep.
_LEVEL_SQL = "CASE GROUPING(team_id, rep_id) WHEN 3 THEN 0 WHEN 1 THEN 1 ELSE 2 END"


def _grouping_sets(dims: str) -> str:
    return f"GROUPING SETS ((day, {dims}), (day, team_id, {dims}), (day, team_id, rep_id, {dims}))"


# --- recomputing days -------------------------------------------------------------------


def _contact_days(cursor, days: Iterable[date]) -> None:  # noqa: ANN001
    """Replace the ContactDay rows of `days` from their facts."""
    days = sorted(set(days))
    if not days:
        return
    dims = "channel, outcome, complaint_category"
    cursor.execute("DELETE FROM followups_contactday WHERE day = ANY(%s)", [days])
    cursor.execute(
        f"""
        INSERT INTO followups_contactday (level, day, team_id, rep_id, {dims},
            interactions, with_customer, responses, score_sum, duration_sum)
        SELECT {_LEVEL_SQL}, day, COALESCE(team_id, 0), COALESCE(rep_id, 0), {dims},
            {", ".join(f"sum({expression})" for expression in _CONTACT_SUMS.values())}
        FROM reporting_contactfact WHERE day = ANY(%s)
        GROUP BY {_grouping_sets(dims)}
        """,  # noqa: S608 - our own SQL
        [days],
    )


# A contact's part of its day: CSAT counts only contacts with a customer.
_CONTACT_FACT_SELECT = """
    SELECT i.id, (i.occurred_at AT TIME ZONE 'UTC')::date,
        COALESCE(i.team_id, 0), COALESCE(i.rep_id, 0), i.channel, i.outcome,
        CASE WHEN i.category_id LIKE '%%complaint%%' THEN i.category_id ELSE '' END,
        i.customer_id IS NOT NULL, i.customer_id IS NOT NULL AND f.id IS NOT NULL,
        CASE WHEN i.customer_id IS NOT NULL THEN f.score END, i.duration_seconds
    FROM interactions_interaction i
    LEFT JOIN interactions_feedback f ON f.interaction_id = i.id
"""
_CONTACT_FACT_COLUMNS = (
    "interaction_id, day, team_id, rep_id, channel, outcome, complaint_category, "
    "with_customer, responded, score, duration_seconds"
)
# ContactDay's figures, as sums over facts (a fact counts 1, or -1 when taken back).
_CONTACT_SUMS = {
    "interactions": "1",
    "with_customer": "with_customer::int",
    "responses": "responded::int",
    "score_sum": "COALESCE(score, 0)",
    "duration_sum": "duration_seconds",
}
_MATTER_SUMS = {
    "matters": "1",
    "resolved_first_contact": "resolved_first_contact::int",
    "repeat_7d": "repeat_7d::int",
    "repeat_30d": "repeat_30d::int",
}


@dataclass(frozen=True)
class _DayDelta:
    """The day rows a fact table feeds, kept by difference: the facts a refresh
    changes are subtracted as they were and added as they are, so the cost is the
    changes', not the touched days' (regrouping a day's every fact took a second a
    refresh once a busy sync's day held a million contacts)."""

    table: str
    dims: str  # grouped besides the day, team and rep
    sums: dict[str, str]  # day column: its part of a fact

    @property
    def count(self) -> str:
        return next(iter(self.sums))


_CONTACT_DAYS = _DayDelta(
    "followups_contactday", "channel, outcome, complaint_category", _CONTACT_SUMS
)
_MATTER_DAYS = _DayDelta("followups_matterday", "channel", _MATTER_SUMS)


_MATTER_FACT_SELECT = f"""
    SELECT m.id, (m.opened_at AT TIME ZONE 'UTC')::date, m.opened_at,
        COALESCE(fi.team_id, 0), COALESCE(fi.rep_id, 0), COALESCE(fi.channel, ''),
        m.customer_id, m.category_id,
        m.status = 'resolved' AND m.contact_count = 1,
        COALESCE(r.occurred_at <= m.opened_at + interval '7 days', false),
        r.id IS NOT NULL, r.id
    FROM interactions_matter m
    -- One primary-key probe a matter: as a plain join the planner hashed the whole
    -- interactions table for each chunk of 5,000 matters (a sequential scan of 385,000
    -- rows at the soak's size, 70 of a chunk's 125 ms; more with every row). LIMIT
    -- keeps the planner from flattening the lateral back into that join.
    LEFT JOIN LATERAL (
        SELECT team_id, rep_id, channel FROM interactions_interaction
        WHERE id = m.first_interaction_id LIMIT 1
    ) fi ON true
    -- A repeat shares the matter's category, so an uncategorized matter (each
    -- uncategorized contact opens its own: a phone system's synced calls) has none:
    -- the outer-only condition gates the probe, which otherwise walked every later
    -- contact of the customer (160 of a chunk's 199 ms under the soak's sync).
    LEFT JOIN LATERAL (
        SELECT i.id, i.occurred_at FROM interactions_interaction i
        WHERE m.category_id IS NOT NULL
            AND i.customer_id = m.customer_id AND i.category_id = m.category_id
            AND i.direction = 'inbound' AND i.occurred_at > m.opened_at
            AND i.occurred_at <= m.opened_at + interval '{REPEAT_WINDOW_DAYS} days'
            AND i.id IS DISTINCT FROM m.first_interaction_id
        ORDER BY i.occurred_at LIMIT 1
    ) r ON true
"""  # noqa: S608 - our own SQL
_MATTER_FACT_COLUMNS = (
    "matter_id, day, opened_at, team_id, rep_id, channel, customer_id, category_id, "
    "resolved_first_contact, repeat_7d, repeat_30d, repeat_interaction_id"
)

_PROMISE_FACT_SELECT = """
    SELECT id, day, team_id, rep_id, channel, kept_on_time, kept_late, renegotiation_count,
        CASE WHEN kept_late THEN floor(extract(epoch FROM completed_at - due_at))::bigint END
    FROM (
        SELECT f.id, (f.due_at AT TIME ZONE 'UTC')::date AS day, COALESCE(f.team_id, 0) AS team_id,
            COALESCE(f.owner_id, 0) AS rep_id, f.channel, f.renegotiation_count,
            f.completed_at, f.due_at,
            COALESCE(f.status = 'done' AND (f.is_kept_on_time
                OR (f.is_kept_on_time IS NULL AND f.completed_at <= f.due_at)), false)
                AS kept_on_time,
            COALESCE(f.status = 'done' AND (NOT f.is_kept_on_time
                OR (f.is_kept_on_time IS NULL AND f.completed_at > f.due_at)), false) AS kept_late
        FROM followups_followup f
        WHERE f.status <> 'cancelled' AND {where}
    ) s
"""
_PROMISE_FACT_COLUMNS = (
    "followup_id, day, team_id, rep_id, channel, kept_on_time, kept_late, "
    "renegotiation_count, lateness_seconds"
)


def _matter_days(cursor, days: Iterable[date]) -> None:  # noqa: ANN001
    days = sorted(set(days))
    if not days:
        return
    cursor.execute("DELETE FROM followups_matterday WHERE day = ANY(%s)", [days])
    cursor.execute(
        f"""
        INSERT INTO followups_matterday (level, day, team_id, rep_id, channel,
            matters, resolved_first_contact, repeat_7d, repeat_30d)
        SELECT {_LEVEL_SQL}, day, COALESCE(team_id, 0), COALESCE(rep_id, 0), channel,
            count(*), count(*) FILTER (WHERE resolved_first_contact),
            count(*) FILTER (WHERE repeat_7d), count(*) FILTER (WHERE repeat_30d)
        FROM followups_matterfact WHERE day = ANY(%s)
        GROUP BY {_grouping_sets("channel")}
        """,  # noqa: S608
        [days],
    )


def _promise_days(cursor, days: Iterable[date]) -> None:  # noqa: ANN001
    days = sorted(set(days))
    if not days:
        return
    cursor.execute("DELETE FROM followups_promiseday WHERE day = ANY(%s)", [days])
    cursor.execute("DELETE FROM followups_promiselateness WHERE day = ANY(%s)", [days])
    cursor.execute(
        f"""
        INSERT INTO followups_promiseday (level, day, team_id, rep_id, channel,
            due, kept_on_time, kept_late, renegotiated, renegotiations)
        SELECT {_LEVEL_SQL}, day, COALESCE(team_id, 0), COALESCE(rep_id, 0), channel,
            count(*), count(*) FILTER (WHERE kept_on_time), count(*) FILTER (WHERE kept_late),
            count(*) FILTER (WHERE renegotiation_count > 0), sum(renegotiation_count)
        FROM followups_promisefact WHERE day = ANY(%s)
        GROUP BY {_grouping_sets("channel")}
        """,  # noqa: S608
        [days],
    )
    cursor.execute(
        f"""
        INSERT INTO followups_promiselateness (level, day, team_id, rep_id, channel,
            bucket, count, seconds_sum)
        SELECT {_LEVEL_SQL}, day, COALESCE(team_id, 0), COALESCE(rep_id, 0), channel,
            bucket, count(*), sum(lateness_seconds)
        FROM (SELECT *, {_BUCKET_SQL} AS bucket FROM followups_promisefact
              WHERE day = ANY(%s) AND kept_late) s
        GROUP BY {_grouping_sets("channel, bucket")}
        """,  # noqa: S608
        [days],
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


# --- facts: recompute some rows, return the days that changed ---------------------------


def _replace_facts(
    cursor,  # noqa: ANN001
    *,
    table: str,
    key: str,
    columns: str,
    touched_sql: str,
    touched_params: dict,
    select_sql: str,
    covered_from: date,
    day_delta: _DayDelta | None = None,
) -> tuple[set[date], int]:
    """Recompute the facts of the ids `touched_sql` finds (ids whose source row is gone,
    or now falls before `covered_from`, lose their fact); write only those that
    changed, and (`day_delta`) add the difference they make to their day rows; return
    the days (old and new) they touch and how many ids it recomputed. The ids come
    from a server-side cursor FACT_CHUNK_ROWS at a time, and each chunk is compared and
    written inside the database, all in the caller's transaction: the worker holds
    one chunk of ids and the touched days, whatever the interval held (fetching every
    id, and each chunk's old and new rows to compare them in Python, took half of a
    refresh under a busy sync and left the worker's heap 25 MB larger each time).

    One statement: its parts see the same snapshot, so `cur` holds the facts as they
    were before it, and the delete and the upsert never meet (an id is either kept
    or not)."""
    names = [name.strip() for name in columns.split(",")]
    values = [name for name in names if name != key]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in values)
    current = ", ".join(f"cur.{name}" for name in values)
    fresh = ", ".join(f"kept.{name}" for name in values)
    statement = f"""
        WITH new ({columns}) AS MATERIALIZED ({select_sql}),
        kept AS (SELECT * FROM new WHERE day >= %(covered_from)s),
        cur AS MATERIALIZED (SELECT {columns} FROM {table} WHERE {key} = ANY(%(ids)s)),
        -- Only new and changed facts are written: ON CONFLICT locks every row it
        -- meets, so an unchanged one would still be written (its lock, in the heap
        -- and the WAL) at every refresh that reads it again.
        changed AS MATERIALIZED (
            SELECT kept.* FROM kept LEFT JOIN cur USING ({key})
            WHERE cur.{key} IS NULL OR ({current}) IS DISTINCT FROM ({fresh})
        ),
        gone AS (
            DELETE FROM {table} WHERE {key} = ANY(ARRAY(
                SELECT unnest(%(ids)s::bigint[]) EXCEPT SELECT {key} FROM kept
            ))
            RETURNING {columns}
        ),
        written AS (
            INSERT INTO {table} ({columns}) SELECT * FROM changed
            ON CONFLICT ({key}) DO UPDATE SET {updates}
            RETURNING {table}.{key}, {table}.day
        ){_day_delta_sql(day_delta, key) if day_delta else ""}
        SELECT day FROM gone
        UNION SELECT day FROM written
        UNION SELECT cur.day FROM cur JOIN written USING ({key})
    """  # noqa: S608 - our own tables and columns
    days: set[date] = set()
    recomputed = 0
    # A cursor sees the rows as they were when it was opened, not the facts written
    # between its fetches.
    with connection.chunked_cursor() as touched:
        touched.execute(touched_sql, touched_params)
        while True:
            started = perf_counter()
            chunk = [row[0] for row in touched.fetchmany(FACT_CHUNK_ROWS)]
            if not chunk:
                break
            cursor.execute(statement, {"ids": chunk, "covered_from": covered_from})
            days |= {row[0] for row in cursor.fetchall()}
            recomputed += len(chunk)
            _pause(started)
    if day_delta and days:
        # Keys whose every fact went elsewhere: nothing to show.
        cursor.execute(
            f"DELETE FROM {day_delta.table} WHERE day = ANY(%s) AND {day_delta.count} = 0",  # noqa: S608
            [sorted(days)],
        )
    return days, recomputed


def _pause(started: float) -> None:
    """Rest after a chunk as long as it took, times METRICS_REFRESH_PAUSE_RATIO. The
    refresh is background work on the reps' database: at 1 it takes about half of
    one core while it runs instead of all of it (each chunk a tenth of a second)
    and ends about twice as late, well within its interval. Under a busy sync its
    bursts were where the reps' slowest answers bunched, every 30 s."""
    ratio = settings.METRICS_REFRESH_PAUSE_RATIO
    if ratio > 0:
        sleep((perf_counter() - started) * ratio)


def _day_delta_sql(delta: _DayDelta, key: str) -> str:
    """CTEs that add to `delta.table` the difference the statement's facts make: each
    changed fact's new part, less its old part and the part of each fact gone."""
    group = f"team_id, rep_id, {delta.dims}"
    nonzero = " OR ".join(f"sum(sign * ({part})) <> 0" for part in delta.sums.values())
    return f""",
        difference AS (
            SELECT 1 AS sign, * FROM changed
            UNION ALL SELECT -1, * FROM cur WHERE {key} IN (SELECT {key} FROM changed)
            UNION ALL SELECT -1, * FROM gone
        ),
        added AS (
            INSERT INTO {delta.table} AS total (level, day, {group}, {", ".join(delta.sums)})
            SELECT {_LEVEL_SQL}, day, COALESCE(team_id, 0), COALESCE(rep_id, 0), {delta.dims},
                {", ".join(f"sum(sign * ({part}))" for part in delta.sums.values())}
            FROM difference
            GROUP BY {_grouping_sets(delta.dims)}
            HAVING {nonzero}
            ON CONFLICT (day, level, {group}) DO UPDATE SET
                {", ".join(f"{name} = total.{name} + EXCLUDED.{name}" for name in delta.sums)}
        )"""  # noqa: S608 - our own tables and columns


# --- one refresh -------------------------------------------------------------------------


# Matters whose fact may have changed since `since`: their own rows, the matters of
# touched interactions, the facts a touched interaction may make a repeat of, and the
# facts of matters since deleted.
#
# Earlier matters are looked up by customer, one index probe per touched contact
# with a category (OFFSET 0 keeps the lateral a probe: pulled up into a plain join,
# the planner, which cannot count a CTE's rows, merged it against every fact ever
# made, 0.5 s of each refresh at the soak's half a million matters and growing with
# the install's history). Deleted matters are the ids the database recorded
# (MatterDeletion), taken in this transaction.
_MATTERS_TOUCHED_SQL = f"""
    WITH touched AS (
        SELECT id, customer_id, category_id, occurred_at, matter_id
        FROM interactions_interaction
        WHERE updated_at > %(since)s AND {_WRITTEN_SINCE}
    )
    SELECT id FROM interactions_matter
    WHERE updated_at > %(since)s AND {_WRITTEN_SINCE}
    UNION SELECT matter_id FROM touched WHERE matter_id IS NOT NULL
    UNION SELECT earlier.matter_id FROM touched t CROSS JOIN LATERAL (
        SELECT mf.matter_id FROM followups_matterfact mf
        WHERE mf.customer_id = t.customer_id AND mf.category_id = t.category_id
            AND mf.opened_at < t.occurred_at AND mf.opened_at >= t.occurred_at - %(window)s
        OFFSET 0
    ) earlier
    WHERE t.category_id IS NOT NULL
    UNION SELECT mf.matter_id FROM followups_matterfact mf
        WHERE mf.repeat_interaction_id IN (SELECT id FROM touched)
    UNION SELECT unnest(%(deleted)s::bigint[])
"""  # noqa: S608 - our own SQL


# Contacts written since, those with new feedback (feedback has no updated_at: ids
# after the last refresh's highest, less FEEDBACK_ID_OVERLAP for ids committed out of
# order), and those deleted (recorded by the database, reporting/0004).
_CONTACTS_TOUCHED_SQL = f"""
    SELECT id FROM interactions_interaction WHERE updated_at > %(since)s AND {_WRITTEN_SINCE}
    UNION SELECT interaction_id FROM interactions_feedback
    WHERE id > %(feedback_from)s AND created_at > %(since)s AND {_WRITTEN_SINCE}
    UNION SELECT unnest(%(deleted)s::bigint[])
"""  # noqa: S608 - our own SQL

_PROMISES_TOUCHED_SQL = f"""
    SELECT id FROM followups_followup WHERE updated_at > %(since)s AND {_WRITTEN_SINCE}
"""  # noqa: S608 - our own SQL


@dataclass
class RefreshResult:
    days: dict[str, int] = field(default_factory=dict)  # days recomputed per rollup
    facts: dict[str, int] = field(default_factory=dict)  # facts recomputed (matters, promises)
    backfilled: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False


def metrics_rollup_refresh(
    *, max_seconds: float = 40.0, today: date | None = None
) -> RefreshResult:
    """Fold changes since the last run into every rollup, then back-fill within
    the time budget. Safe to run twice at once (the second returns at once)."""
    result = RefreshResult()
    started = perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                result.skipped = True
                return result
            _session_settings(cursor)
            now, horizon = _now_and_horizon(cursor)
            today = today or now.date()
            states = _states()
            for name in ROLLUPS:
                result.days[name], result.facts[name] = _incremental(
                    cursor, states[name], horizon=horizon, today=today
                )
            for state in states.values():
                state.refreshed_at = now
                state.save()
    # Back-fill: its own transactions, a chunk at a time, newest days first.
    for name in ROLLUPS:
        result.backfilled[name] = 0
    while perf_counter() - started < max_seconds:
        progressed = False
        # The one that reaches least far back first, so none waits on the others.
        order = dict(RollupState.objects.values_list("name", "covered_from"))
        for name in sorted(ROLLUPS, key=lambda n: order.get(n) or date.max, reverse=True):
            if perf_counter() - started >= max_seconds:
                break
            if _backfill_chunk(name):
                result.backfilled[name] += 1
                progressed = True
        if not progressed:
            break
    result.seconds = perf_counter() - started
    return result


def _now_and_horizon(cursor) -> tuple[datetime, datetime]:  # noqa: ANN001
    """The database's now, and the start of the oldest transaction still open on this
    database that has written (now when none has): rows it writes commit after this
    refresh with an updated_at after its start. Only client sessions holding a
    transaction id count. A reader (pg_dump's hours-long snapshot, a report) writes
    no row, and autovacuum none of ours; had they held the watermark back, every
    refresh while they ran would re-read every change since they started. A writer
    that has not written yet reads its clock for updated_at when it writes, after
    this refresh (WATERMARK_OVERLAP covers the moment between). Sessions of other
    database roles show no xact_start without pg_read_all_stats; Rapport's
    processes share one role."""
    cursor.execute(
        "SELECT now(), LEAST(now(), min(xact_start)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND backend_xid IS NOT NULL"
    )
    return cursor.fetchone()


def _session_settings(cursor) -> None:  # noqa: ANN001
    """For this transaction only: no JIT (compiling costs more than it saves
    here) and room to group a back-fill chunk in memory."""
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '64MB'")


def _states() -> dict[str, RollupState]:
    states = {state.name: state for state in RollupState.objects.select_for_update()}
    for name in ROLLUPS:
        if name not in states:
            states[name] = RollupState(name=name)
    return states


def _incremental(  # noqa: C901
    cursor,  # noqa: ANN001
    state: RollupState,
    *,
    horizon: datetime,
    today: date,
) -> tuple[int, int]:
    """Fold the rows changed since the last refresh into one rollup: how many days it
    recomputed, and how many facts."""
    # Before this rollup reads anything: every transaction older than this one has
    # ended, and what it wrote is read now (the next refresh need not read it again).
    cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    snapshot_xmin = cursor.fetchone()[0]
    if state.watermark is None:
        state.snapshot_xmin = snapshot_xmin
        # First run: everything from tomorrow on is "covered" (nothing there yet
        # or computed below), older days are back-filled.
        state.watermark = horizon
        state.covered_from = today + timedelta(days=1)
        if state.name == CONTACTS:
            cursor.execute("SELECT COALESCE(max(id), 0) FROM interactions_feedback")
            state.feedback_id = cursor.fetchone()[0]
        _start_backfill(cursor, state)
        return 0, 0
    since = state.watermark - WATERMARK_OVERLAP
    covered_from = state.covered_from
    days: set[date] = set()
    facts = 0
    if state.name == CONTACTS:
        cursor.execute("SELECT COALESCE(max(id), 0) FROM interactions_feedback")
        feedback_id = cursor.fetchone()[0]
        days, facts = _replace_facts(
            cursor,
            table="reporting_contactfact",
            key="interaction_id",
            columns=_CONTACT_FACT_COLUMNS,
            touched_sql=_CONTACTS_TOUCHED_SQL,
            touched_params={
                "since": since,
                "feedback_from": max(state.feedback_id - FEEDBACK_ID_OVERLAP, 0),
                "deleted": _deletions_take(cursor, "reporting_interactiondeletion"),
                "xmin": state.snapshot_xmin,
            },
            select_sql=_CONTACT_FACT_SELECT + " WHERE i.id = ANY(%(ids)s)",
            covered_from=covered_from,
            day_delta=_CONTACT_DAYS,
        )
        state.feedback_id = max(state.feedback_id, feedback_id)
    elif state.name == MATTERS:
        days, facts = _replace_facts(
            cursor,
            table="followups_matterfact",
            key="matter_id",
            columns=_MATTER_FACT_COLUMNS,
            touched_sql=_MATTERS_TOUCHED_SQL,
            touched_params={
                "since": since,
                "window": timedelta(days=REPEAT_WINDOW_DAYS),
                "deleted": _deletions_take(cursor, "reporting_matterdeletion"),
                "xmin": state.snapshot_xmin,
            },
            select_sql=_MATTER_FACT_SELECT + " WHERE m.id = ANY(%(ids)s)",
            covered_from=covered_from,
            day_delta=_MATTER_DAYS,
        )
    else:
        days, facts = _replace_facts(
            cursor,
            table="followups_promisefact",
            key="followup_id",
            columns=_PROMISE_FACT_COLUMNS,
            touched_sql=_PROMISES_TOUCHED_SQL,
            touched_params={"since": since, "xmin": state.snapshot_xmin},
            select_sql=_PROMISE_FACT_SELECT.format(where="f.id = ANY(%(ids)s)"),
            covered_from=covered_from,
        )
        days = {day for day in days if day >= covered_from}
        _promise_days(cursor, days)
    state.watermark = horizon
    state.snapshot_xmin = snapshot_xmin
    return len(days), facts


def _deletions_take(cursor, table: str) -> list[int]:  # noqa: ANN001
    """The source rows deleted since the last refresh (recorded by a trigger,
    reporting/0002 and 0004), removed from the record in this refresh's transaction
    (kept if it fails). A deletion committed after this statement's snapshot stays
    for the next refresh."""
    cursor.execute(f"DELETE FROM {table} RETURNING *")  # noqa: S608 - our own one-column table
    return [row[0] for row in cursor.fetchall()]


# --- back-fill ---------------------------------------------------------------------------


def _start_backfill(cursor, state: RollupState) -> None:  # noqa: ANN001
    """The first run also covers the future (promises due later, clocks ahead)."""
    newest = {
        CONTACTS: "SELECT max(occurred_at) FROM interactions_interaction",
        MATTERS: "SELECT max(opened_at) FROM interactions_matter",
        PROMISES: "SELECT max(due_at) FROM followups_followup",
    }[state.name]
    cursor.execute(newest)
    latest = cursor.fetchone()[0]
    start = state.covered_from
    if latest is not None and latest.date() >= start:
        _backfill_range(cursor, state.name, start, latest.date() + timedelta(days=1))


def _oldest_day(cursor, name: str) -> date | None:  # noqa: ANN001
    cursor.execute(
        {
            CONTACTS: "SELECT min(occurred_at) FROM interactions_interaction",
            MATTERS: "SELECT min(opened_at) FROM interactions_matter",
            PROMISES: "SELECT min(due_at) FROM followups_followup",
        }[name]
    )
    oldest = cursor.fetchone()[0]
    return oldest.date() if oldest is not None else None


# Per rollup: its fact table and columns, the facts of a range of days (the
# source's own time column, %s twice: midnight of the first day and of the day after
# the last) and what recomputes those days' rows from the facts.
_BACKFILL = {
    CONTACTS: (
        "reporting_contactfact",
        _CONTACT_FACT_COLUMNS,
        _CONTACT_FACT_SELECT + " WHERE i.occurred_at >= %s AND i.occurred_at < %s",
        _contact_days,
    ),
    MATTERS: (
        "followups_matterfact",
        _MATTER_FACT_COLUMNS,
        _MATTER_FACT_SELECT + " WHERE m.opened_at >= %s AND m.opened_at < %s",
        _matter_days,
    ),
    PROMISES: (
        "followups_promisefact",
        _PROMISE_FACT_COLUMNS,
        _PROMISE_FACT_SELECT.format(where="f.due_at >= %s AND f.due_at < %s"),
        _promise_days,
    ),
}


def _backfill_range(cursor, name: str, start: date, end: date) -> None:  # noqa: ANN001
    """The facts of days [start, end) from the source, then those days' rows."""
    table, columns, select_sql, recompute_days = _BACKFILL[name]
    cursor.execute(f"DELETE FROM {table} WHERE day >= %s AND day < %s", [start, end])  # noqa: S608
    cursor.execute(
        f"INSERT INTO {table} ({columns}) {select_sql}",  # noqa: S608 - our own SQL
        [_midnight(start), _midnight(end)],
    )
    recompute_days(cursor, _days(start, end))


def _backfill_chunk(name: str) -> bool:
    """Compute the next older chunk of days; False when there is nothing left."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return False
        _session_settings(cursor)
        state = RollupState.objects.select_for_update().filter(name=name).first()
        if state is None or state.complete or state.covered_from is None:
            return False
        oldest = _oldest_day(cursor, name)
        if oldest is None or oldest >= state.covered_from:
            state.complete = True
            state.save(update_fields=["complete"])
            return False
        start = max(oldest, state.covered_from - timedelta(days=BACKFILL_CHUNK_DAYS))
        _backfill_range(cursor, name, start, state.covered_from)
        state.covered_from = start
        state.complete = start <= oldest
        state.save(update_fields=["covered_from", "complete"])
        return True


def rollup_covers(start: date) -> bool:
    """Whether every rollup is exact for days from `start` on."""
    states = list(RollupState.objects.filter(name__in=ROLLUPS))
    if len(states) != len(ROLLUPS):
        return False
    return all(
        state.watermark is not None
        and (state.complete or (state.covered_from is not None and start >= state.covered_from))
        for state in states
    )
