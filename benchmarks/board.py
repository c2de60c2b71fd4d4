"""Benchmark for issue 7: the overdue board and the metrics pages under load.

    python -m benchmarks.board [--followups 200000] [--interactions 1000000]
                               [--reps 200] [--teams 10] [--samples 30] [--reuse]

Fills a throw-away PostgreSQL database `<DATABASE_URL db>_bench_board` with
generated data (bulk SQL: INSERT ... SELECT generate_series, copying every
column not varied from one template row made by the ORM, so the rows satisfy
the real schema), then requests the real pages through Django's test client
as a supervisor of one team and as an admin (all teams): the board, its
summary and list fragments, the escalations inbox, the metrics page (12
weeks), and /api/v1/metrics/promises/ and /contacts/. Goal (issue 7): p95 <
300 ms at 1,000,000 follow-ups, 10,000,000 interactions and 200 reps. Writes
var/bench/board.md; numbers on a shared 2-core machine are recorded, not
asserted.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import bench_database_url, ensure_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "board.md"
GOAL_MS = 300


def _copy_rows(cursor, table: str, template_id: int, count: int, overrides: dict[str, str]) -> None:
    """INSERT `count` rows into `table`: the override expressions (which may use
    `n`, 1..count) for some columns, the template row's value for the rest."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id'",
        [table],
    )
    columns = [row[0] for row in cursor.fetchall()]
    values = [overrides.get(column, f't."{column}"') for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(chr(34) + c + chr(34) for c in columns)}) "  # noqa: S608 - our own names
        f"SELECT {', '.join(values)} FROM {table} t, generate_series(1, {int(count)}) n "
        f"WHERE t.id = {int(template_id)}"
    )
    cursor.execute(f"DELETE FROM {table} WHERE id = %s", [template_id])  # noqa: S608


def generate(*, followups: int, interactions: int, reps: int, teams: int) -> float:
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from crm.access import ADMIN_GROUP
    from crm.models import Customer, Team, TeamMembership
    from followups.models import FollowUp
    from interactions.models import Feedback, Interaction, Matter
    from tests.factories import UserFactory

    started = time.perf_counter()
    now = timezone.now()
    customers = max(1000, interactions // 20)
    with transaction.atomic():
        team_rows = [
            Team.objects.create(
                name=f"Team {i}",
                time_zone=["America/New_York", "Europe/London", "Asia/Tokyo"][i % 3],
            )
            for i in range(teams)
        ]
        admin = UserFactory(username="bench-admin")
        admin.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
        for index, team in enumerate(team_rows):
            TeamMembership.objects.create(
                team=team, user=UserFactory(username=f"bench-sup{index}"), role="supervisor"
            )
        rep_users = [UserFactory(username=f"bench-rep{i}") for i in range(reps)]
        TeamMembership.objects.bulk_create(
            TeamMembership(team=team_rows[i % teams], user=user, role="rep")
            for i, user in enumerate(rep_users)
        )
        Customer.objects.bulk_create(
            Customer(full_name=f"Bench Customer {i}", search_name=f"bench customer {i}")
            for i in range(customers)
        )
        rep_ids = [u.pk for u in rep_users]
        team_ids = [t.pk for t in team_rows]
        first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
        template_customer = Customer.objects.get(pk=first_customer)
        rep_array = "(ARRAY[" + ",".join(map(str, rep_ids)) + "])"
        # A rep's team: the team they were put in (i % teams), so promises and contacts line up.
        rep_team = f"(ARRAY[{','.join(str(team_ids[i % teams]) for i in range(reps))}])"
        rep_pick = f"(1 + (n::bigint * 7919) % {reps})::int"
        # The board's aging boundaries of each rep's team, now (business time).
        from followups.schedules import team_calendar
        from reporting.board_selectors import aging_boundaries

        bounds = [aging_boundaries(team_calendar(team=team), now) for team in team_rows]

        def per_rep(attribute: str) -> str:
            values = (getattr(bounds[i % teams], attribute).isoformat() for i in range(reps))
            return "(ARRAY[" + ",".join(f"'{value}'::timestamptz" for value in values) + "])"

        b4, b1d, b3d = per_rep("four_hours"), per_rep("one_day"), per_rep("three_days")

        interaction = Interaction.objects.create(
            customer=template_customer,
            channel="phone",
            direction="inbound",
            occurred_at=now,
            rep=rep_users[0],
            team=team_rows[0],
        )
        matter = Matter.objects.create(
            customer=template_customer,
            opened_at=now,
            last_contact_at=now,
            first_interaction=interaction,
        )
        followup = FollowUp.objects.create(
            customer=template_customer,
            owner=rep_users[0],
            team=team_rows[0],
            action="Call back",
            due_at=now,
            next_action_at=now,
        )
        with connection.cursor() as cursor:
            # The rows are generated consistent: skip the deferred foreign-key
            # checks (tens of millions of look-ups at COMMIT, most of the load time).
            cursor.execute("SET LOCAL session_replication_role = replica")
            # Contacts over the last 180 days; every second one opens a matter.
            _copy_rows(
                cursor,
                "interactions_interaction",
                interaction.pk,
                interactions,
                {
                    "customer_id": f"{first_customer} + (n::bigint * 104729) % {customers}",
                    "channel": "(ARRAY['phone','email','in_person','chat','sms','video'])[1 + n % 6]",
                    "direction": "(ARRAY['inbound','inbound','outbound'])[1 + n % 3]",
                    "occurred_at": "now() - (n % 259200) * interval '1 minute'",
                    "duration_seconds": "60 + n % 900",
                    "rep_id": f"{rep_array}[{rep_pick}]",
                    "team_id": f"{rep_team}[{rep_pick}]",
                    "category_id": "(ARRAY['complaint','question','request','feedback','praise','other'])[1 + n % 6]",
                    "outcome": "(ARRAY['resolved','information_given','promise_made','no_answer'])[1 + n % 4]",
                    "is_repeat_contact": "n % 5 = 0",
                    "source": "'bench'",
                    "external_id": "'b' || n",
                    # Written before the rollups' watermark, as history is.
                    "created_at": "now() - interval '1 day'",
                    "updated_at": "now() - interval '1 day'",
                },
            )
            cursor.execute(
                "INSERT INTO interactions_matter (customer_id, category_id, subject, status, "
                "first_interaction_id, opened_at, last_contact_at, contact_count, resolved_at, "
                "created_at, updated_at) "
                "SELECT customer_id, category_id, '', CASE WHEN id % 4 = 0 THEN 'open' ELSE 'resolved' END, "
                "id, occurred_at, occurred_at, 1 + (id % 5 = 0)::int, "
                "CASE WHEN id % 4 = 0 THEN NULL ELSE occurred_at END, "
                "now() - interval '1 day', now() - interval '1 day' "
                "FROM interactions_interaction WHERE source = 'bench' AND id % 2 = 0"
            )
            cursor.execute(
                "UPDATE interactions_interaction i SET matter_id = m.id FROM interactions_matter m "
                "WHERE m.first_interaction_id = i.id"
            )
            cursor.execute(
                "INSERT INTO interactions_feedback (interaction_id, matter_id, score, comment, created_at) "
                "SELECT id, matter_id, 1 + id % 5, '', occurred_at FROM interactions_interaction "
                "WHERE source = 'bench' AND id % 10 = 0"
            )
            # Promises: 10 % still open, the rest done (due over the last 180
            # days and the next 10). Of the open ones, one in ten is overdue, as
            # in a centre that keeps most promises: spread over the four aging
            # buckets (by the team's business calendar, from the board's own
            # boundaries) and, within them, over the escalation levels the
            # default policy would have reached (level 1 after 4 business hours,
            # level 2 after 16). The rest of the open ones fall due in the next
            # 10 days.
            frac = "(((n::bigint * 7919) % 997) + 1) / 999.0"
            bucket = "((n / 100) % 4)"
            overdue_due = (
                f"CASE {bucket} "
                f"WHEN 0 THEN {b4}[{rep_pick}] + (now() - interval '1 minute' - {b4}[{rep_pick}]) * {frac} "
                f"WHEN 1 THEN {b1d}[{rep_pick}] + ({b4}[{rep_pick}] - {b1d}[{rep_pick}]) * {frac} "
                f"WHEN 2 THEN {b3d}[{rep_pick}] + ({b1d}[{rep_pick}] - {b3d}[{rep_pick}]) * {frac} "
                f"ELSE {b3d}[{rep_pick}] - interval '30 days' * {frac} END"
            )
            _copy_rows(
                cursor,
                "followups_followup",
                followup.pk,
                followups,
                {
                    "customer_id": f"{first_customer} + (n::bigint * 7877) % {customers}",
                    "owner_id": f"{rep_array}[{rep_pick}]",
                    "team_id": f"{rep_team}[{rep_pick}]",
                    "due_at": (
                        "CASE WHEN n % 10 <> 0 THEN now() - ((n::bigint * 37) % 273600 - 14400) * interval '1 minute' "
                        "WHEN n % 100 <> 0 THEN now() + (30 + (n::bigint * 37) % 14400) * interval '1 minute' "
                        f"ELSE {overdue_due} END"
                    ),
                    "status": "CASE WHEN n % 10 = 0 THEN 'open' ELSE 'done' END",
                    "next_action_at": "NULL",
                    "remind_at": "NULL",
                    "completed_at": "CASE WHEN n % 10 = 0 THEN NULL ELSE now() - ((n::bigint * 37) % 273600 - 14400 - (n % 7 - 2) * 240) * interval '1 minute' END",
                    "is_kept_on_time": "CASE WHEN n % 10 = 0 THEN NULL ELSE n % 7 < 3 END",
                    "is_overdue": "n % 100 = 0",
                    "is_reminded": "n % 100 = 0",
                    "escalation_level": (
                        f"CASE WHEN n % 100 <> 0 THEN 0 WHEN {bucket} = 0 THEN 0 "
                        f"WHEN {bucket} = 1 THEN (n / 400) % 2 ELSE 1 + (n / 400) % 2 END"
                    ),
                    "renegotiation_count": "(n % 17 = 0)::int",
                    "created_at": "now() - interval '1 day'",
                    "updated_at": "now() - interval '1 day'",
                },
            )
            # The open promises' schedule, as the sweep would have left it: the
            # levels reached are in the past, the next transition ahead.
            cursor.execute(
                "UPDATE followups_followup SET "
                "escalate_1_at = CASE WHEN escalation_level >= 1 "
                "  THEN LEAST(due_at + interval '4 hours', now() - interval '2 minutes') "
                "  WHEN due_at < now() THEN now() + interval '30 minutes' "
                "  ELSE due_at + interval '4 hours' END, "
                "escalate_2_at = CASE WHEN escalation_level >= 2 "
                "  THEN LEAST(due_at + interval '16 hours', now() - interval '1 minute') "
                "  WHEN due_at < now() THEN now() + interval '8 hours' "
                "  ELSE due_at + interval '16 hours' END "
                "WHERE status = 'open'"
            )
            cursor.execute(
                "UPDATE followups_followup SET next_action_at = CASE "
                "  WHEN due_at > now() THEN due_at "
                "  WHEN escalation_level = 0 THEN escalate_1_at "
                "  WHEN escalation_level = 1 THEN escalate_2_at END "
                "WHERE status = 'open'"
            )
            # The escalations the sweep recorded (the inbox lists them).
            cursor.execute(
                "INSERT INTO followups_followupevent (followup_id, kind, level, cycle, "
                "occurred_at, scheduled_at, details) "
                "SELECT f.id, 'escalate', l, f.cycle, "
                "  CASE l WHEN 1 THEN f.escalate_1_at ELSE f.escalate_2_at END + interval '30 seconds', "
                "  CASE l WHEN 1 THEN f.escalate_1_at ELSE f.escalate_2_at END, '{}'::jsonb "
                "FROM followups_followup f CROSS JOIN generate_series(1, 2) l "
                "WHERE f.status = 'open' AND f.escalation_level >= l"
            )
        Interaction.objects.filter(pk=interaction.pk).delete()
        Matter.objects.filter(pk=matter.pk).delete()
        FollowUp.objects.filter(pk=followup.pk).delete()
        Feedback.objects.filter(interaction_id=interaction.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def counts() -> dict[str, int]:
    from django.contrib.auth import get_user_model

    from followups.models import FollowUp
    from interactions.models import Interaction, Matter

    return {
        "followups": FollowUp.objects.count(),
        "interactions": Interaction.objects.count(),
        "matters": Matter.objects.count(),
        "users": get_user_model().objects.count(),
    }


def data_shape() -> dict[str, int]:
    """What the board shows, counted by the board's own selector (admin scope):
    open promises, the overdue ones per aging bucket and escalation level."""
    from followups.models import FollowUp
    from reporting.board_selectors import AGING_BUCKETS, BoardScope, board_summary

    board = board_summary(scope=BoardScope(is_admin=True))
    shape = {
        "open": FollowUp.objects.filter(status="open").count(),
        "open overdue": board.total,
    }
    shape.update({f"overdue {label}": board.counts[key] for key, label in AGING_BUCKETS})
    shape["escalated"] = sum(board.levels.values())
    shape.update({f"escalated level {level}": n for level, n in board.levels.items()})
    return shape


def measure(client, url: str, samples: int) -> tuple[float, float, int]:
    from django.db import connection

    response = client.get(url)  # warm the database's caches and check it works
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    queries = []

    def count(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    return statistics.median(timings), p95, len(queries)


PAGES = [
    ("board page", "/supervisor/board/"),
    ("board counts fragment (polled)", "/supervisor/board/summary/"),
    ("board list: over 3 days", "/supervisor/board/list/?bucket=over_3d"),
    ("escalations inbox", "/supervisor/escalations/?state=all"),
    ("metrics page (12 weeks)", "/supervisor/metrics/"),
    ("API metrics/promises", "/api/v1/metrics/promises/"),
    ("API metrics/contacts", "/api/v1/metrics/contacts/"),
    ("API metrics/board", "/api/v1/metrics/board/"),
]


def filter_urls(*, who: str, team_ids: list[int], rep_ids: list[int], count: int) -> list[str]:
    """Distinct filter combinations people pick (ranges of 1 to 26 weeks ending
    on different days, a team, a rep, a channel): each requested once, so no
    answer can come from a cache of that exact combination."""
    from datetime import timedelta

    today = datetime.now(UTC).date()
    channels = ["", "phone", "email", "chat", "", "in_person"]
    urls = []
    for n in range(count):
        end = today - timedelta(days=(n * 3) % 40)
        start = end - timedelta(weeks=[1, 4, 12, 26, 8, 2][n % 6]) + timedelta(days=1)
        query = f"start={start.isoformat()}&end={end.isoformat()}"
        if n % 3 == 1:
            query += f"&team={team_ids[n % len(team_ids)]}"
        if n % 4 == 2:
            query += f"&rep={rep_ids[(n * 7) % len(rep_ids)]}"
        if channels[n % len(channels)]:
            query += f"&channel={channels[n % len(channels)]}"
        urls.append(f"/supervisor/metrics/?{query}")
    return urls


def measure_many(client, urls: list[str]) -> tuple[float, float]:
    timings = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    return statistics.median(timings), p95


def _copy_spread(cursor, table: str, source_id: str, count: int, overrides: dict) -> None:  # noqa: ANN001
    """INSERT `count` copies of existing rows (row `source_id`, an expression of n)."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id'",
        [table],
    )
    columns = [row[0] for row in cursor.fetchall()]
    values = [overrides.get(column, f't."{column}"') for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(chr(34) + c + chr(34) for c in columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM {table} t, generate_series(1, %s) n "
        f"WHERE t.id = {source_id}",
        [count],
    )


def one_sweep_of_writes(*, interactions: int, promises: int) -> None:
    """What arrives in one sweep interval: new contacts (every second opens a
    matter, every tenth is rated) for customers who already have history, new
    promises, and as many open promises completed (half of them late)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM interactions_interaction")
        first, last = cursor.fetchone()
        _copy_spread(
            cursor,
            "interactions_interaction",
            # Wrapped into the table's id range: every copy finds its source row.
            f"{int(last)} - (n * 997) %% {int(last - first + 1)}",
            interactions,
            {
                "occurred_at": "now() - (n %% 60) * interval '1 minute'",
                "is_repeat_contact": "false",
                "matter_id": "NULL",
                "source": "'bench-sweep'",
                "external_id": "'s' || n || '-' || extract(epoch FROM clock_timestamp())",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        cursor.execute(
            "INSERT INTO interactions_matter (customer_id, category_id, subject, status, "
            "first_interaction_id, opened_at, last_contact_at, contact_count, resolved_at, "
            "created_at, updated_at) "
            "SELECT customer_id, category_id, '', 'open', id, occurred_at, occurred_at, 1, NULL, "
            "now(), now() FROM interactions_interaction WHERE id > %s AND id %% 2 = 0",
            [last],
        )
        cursor.execute(
            "UPDATE interactions_interaction i SET matter_id = m.id, updated_at = now() "
            "FROM interactions_matter m WHERE m.first_interaction_id = i.id AND i.id > %s",
            [last],
        )
        cursor.execute(
            "INSERT INTO interactions_feedback (interaction_id, matter_id, score, comment, "
            "created_at) SELECT id, matter_id, 1 + id %% 5, '', now() "
            "FROM interactions_interaction WHERE id > %s AND id %% 10 = 0",
            [last],
        )
        cursor.execute("SELECT min(id), max(id) FROM followups_followup")
        first_promise, last_promise = cursor.fetchone()
        _copy_spread(
            cursor,
            "followups_followup",
            # Wrapped into the table's id range: every copy finds its source row.
            f"{int(first_promise)} + (n * 97) %% {int(last_promise - first_promise + 1)}",
            promises,
            {
                "due_at": "now() + (n %% 600) * interval '1 minute'",
                "next_action_at": "now() + (n %% 600) * interval '1 minute'",
                "status": "'open'",
                "is_overdue": "false",
                "is_reminded": "false",
                "completed_at": "NULL",
                "is_kept_on_time": "NULL",
                "escalation_level": "0",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        cursor.execute(
            "UPDATE followups_followup SET status = 'done', completed_at = now(), "
            "next_action_at = NULL, is_kept_on_time = (id %% 2 = 0), updated_at = now() "
            # Promises not yet due are the ones kept: the overdue share stays put.
            "WHERE id IN (SELECT id FROM followups_followup WHERE status = 'open' "
            "AND due_at > now() AND id <= %s ORDER BY id DESC LIMIT %s)",
            [last_promise, promises],
        )


def build_rollups() -> tuple[float, int]:
    """The refresh task until the back-fill is complete, as a fresh install's
    beat would run it (each run within its budget)."""
    from reporting import metrics_rollup
    from reporting.metrics_models import RollupState

    started = time.perf_counter()
    runs = 0
    while True:
        runs += 1
        metrics_rollup.metrics_rollup_refresh(max_seconds=40)
        states = RollupState.objects.filter(name__in=metrics_rollup.ROLLUPS)
        if states.count() == len(metrics_rollup.ROLLUPS) and all(s.complete for s in states):
            break
    return time.perf_counter() - started, runs


def main() -> None:  # noqa: C901, PLR0915
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--filters", type=int, default=40, help="distinct metrics filters timed")
    parser.add_argument(
        "--sweep-writes",
        type=int,
        default=1000,
        help="new interactions and promises (and completed promises) per sweep interval",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="also time the metrics computed on the request (slow at 10M interactions)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run")
    parser.add_argument(
        "--generate-only", action="store_true", help="fill the database, measure nothing"
    )
    args = parser.parse_args()

    url = bench_database_url("board")
    ensure_database(url, recreate=not args.reuse)
    sys.path.insert(0, str(ROOT))
    setup_django(url)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from crm.models import Team, TeamMembership
    from reporting import metrics_rollup

    settings.ALLOWED_HOSTS = ["*"]
    settings.METRICS_CACHE_SECONDS = 0  # every figure computed or summed on the request
    load_seconds = None
    if not args.reuse:
        load_seconds = generate(
            followups=args.followups,
            interactions=args.interactions,
            reps=args.reps,
            teams=args.teams,
        )
    if args.generate_only:
        print(f"generated in {load_seconds:.0f} s: {counts()}")
        print(f"data shape: {data_shape()}")
        return
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load: index-only scans need the visibility map.
        cursor.execute("VACUUM (ANALYZE) followups_followup")
        cursor.execute("ANALYZE")
    build_seconds, build_runs = build_rollups()
    print(f"rollups built in {build_seconds:.1f} s ({build_runs} refresh runs)")
    refreshes = []
    for _ in range(3):
        one_sweep_of_writes(interactions=args.sweep_writes, promises=args.sweep_writes)
        started = time.perf_counter()
        result = metrics_rollup.metrics_rollup_refresh(max_seconds=40)
        refreshes.append((time.perf_counter() - started, result.days))
        print(f"refresh after one sweep of writes: {refreshes[-1][0] * 1000:.0f} ms {result.days}")
    sizes = counts()
    shape = data_shape()
    print("data shape: " + ", ".join(f"{v:,} {k}" for k, v in shape.items()))
    if shape["open overdue"] == 0 or 0 in shape.values():
        raise SystemExit(f"the data does not look like a centre's: {shape}")
    users = get_user_model().objects
    team_ids = list(Team.objects.order_by("pk").values_list("pk", flat=True))
    results = []
    for who in ("bench-sup0", "bench-admin"):
        client = Client()
        user = users.get(username=who)
        client.force_login(user)
        for rollup in (True, False) if args.live else (True,):
            settings.METRICS_ROLLUP = rollup
            suffix = "" if rollup else ", computed on the request (no rollup)"
            for label, page_url in PAGES:
                if not rollup and "metrics" not in page_url:
                    continue
                median, p95, queries = measure(client, page_url, args.samples if rollup else 3)
                results.append((who, label + suffix, median, p95, queries))
                print(
                    f"{who:12} {label + suffix:70} median {median:7.1f} ms  p95 {p95:7.1f} ms  {queries} q"
                )
            if not rollup:
                continue
            scope_teams = (
                team_ids
                if who == "bench-admin"
                else [
                    m.team_id for m in TeamMembership.objects.filter(user=user, role="supervisor")
                ]
            )
            rep_ids = list(
                TeamMembership.objects.filter(team_id__in=scope_teams, role="rep").values_list(
                    "user_id", flat=True
                )
            )
            urls = filter_urls(who=who, team_ids=scope_teams, rep_ids=rep_ids, count=args.filters)
            median, p95 = measure_many(client, urls)
            label = f"metrics page, {len(urls)} distinct filters (range, team, rep, channel)"
            results.append((who, label, median, p95, None))
            print(f"{who:12} {label:70} median {median:7.1f} ms  p95 {p95:7.1f} ms")
    load = os.getloadavg()

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Supervisor board and metrics (issue 7)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on PostgreSQL, Django test client "
        f"(whole request: middleware, session, view, template), {args.samples} samples each "
        "after one warm-up request; the mixed-filter rows time each distinct filter once.",
        "",
        "Data: "
        + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
        + f"; {args.teams} teams, {args.reps} reps"
        + ". Shape measured (board's own counts): "
        + ", ".join(f"{v:,} {k}" for k, v in shape.items())
        + (f"; generated in {load_seconds:.0f} s" if load_seconds else " (reused)")
        + ".",
        f"Goal: p95 < {GOAL_MS} ms at 1,000,000 follow-ups / 10,000,000 interactions / 200 reps.",
        "Machine: 2 shared cores; load average at the end of the measurements "
        + ", ".join(f"{value:.1f}" for value in load)
        + " (other agents' work was running).",
        "",
        "Metrics figures are summed from the rollups (reporting/metrics_rollup.py), at most one "
        "sweep interval old; 'open/overdue now' and missed promises are counted live. No "
        "response cache (METRICS_CACHE_SECONDS = 0).",
        "",
        f"Rollups built from scratch (fresh install, back-fill) in {build_seconds:.1f} s over "
        f"{build_runs} refresh runs of <= 40 s.",
        "",
        f"Refresh after one sweep interval's writes ({args.sweep_writes:,} new interactions, "
        f"{args.sweep_writes // 2:,} new matters, {args.sweep_writes // 10:,} ratings, "
        f"{args.sweep_writes:,} new promises, {args.sweep_writes:,} promises completed): "
        + "; ".join(
            f"{seconds * 1000:.0f} ms (days recomputed {days})" for seconds, days in refreshes
        )
        + ".",
        "",
        "| user | page | median ms | p95 ms | queries | p95 < goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for who, label, median, p95, queries in results:
        scope = "supervisor (1 team)" if who.startswith("bench-sup") else "admin (all teams)"
        lines.append(
            f"| {scope} | {label} | {median:.1f} | {p95:.1f} | {queries if queries is not None else ''} "
            f"| {'yes' if p95 < GOAL_MS else 'NO'} |"
        )
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
