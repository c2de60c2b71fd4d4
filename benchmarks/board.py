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
                },
            )
            cursor.execute(
                "INSERT INTO interactions_matter (customer_id, category_id, subject, status, "
                "first_interaction_id, opened_at, last_contact_at, contact_count, resolved_at, "
                "created_at, updated_at) "
                "SELECT customer_id, category_id, '', CASE WHEN id % 4 = 0 THEN 'open' ELSE 'resolved' END, "
                "id, occurred_at, occurred_at, 1 + (id % 5 = 0)::int, "
                "CASE WHEN id % 4 = 0 THEN NULL ELSE occurred_at END, now(), now() "
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
            # Promises: due over the last 180 days and the next 10; 10 % still open.
            _copy_rows(
                cursor,
                "followups_followup",
                followup.pk,
                followups,
                {
                    "customer_id": f"{first_customer} + (n::bigint * 7877) % {customers}",
                    "owner_id": f"{rep_array}[{rep_pick}]",
                    "team_id": f"{rep_team}[{rep_pick}]",
                    "due_at": "now() - ((n::bigint * 37) % 273600 - 14400) * interval '1 minute'",
                    "status": "CASE WHEN n % 10 = 0 THEN 'open' ELSE 'done' END",
                    "next_action_at": "NULL",
                    "completed_at": "CASE WHEN n % 10 = 0 THEN NULL ELSE now() - ((n::bigint * 37) % 273600 - 14400 - (n % 7 - 2) * 240) * interval '1 minute' END",
                    "is_kept_on_time": "CASE WHEN n % 10 = 0 THEN NULL ELSE n % 7 < 3 END",
                    "escalation_level": "CASE WHEN n % 10 = 0 THEN n % 3 ELSE 0 END",
                    "renegotiation_count": "(n % 17 = 0)::int",
                },
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
        "open overdue": FollowUp.objects.filter(
            status="open", due_at__lt=datetime.now(UTC)
        ).count(),
        "interactions": Interaction.objects.count(),
        "matters": Matter.objects.count(),
        "users": get_user_model().objects.count(),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--samples", type=int, default=30)
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
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
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
        return
    sizes = counts()
    users = get_user_model().objects
    results = []
    # First every figure computed on every request (the contact-metrics cache
    # off); then the metrics pages again as they run by default, reusing
    # contact figures for up to one sweep interval.
    for cached in (False, True):
        settings.METRICS_CACHE_SECONDS = settings.FOLLOWUP_SWEEP_SECONDS if cached else 0
        for who in ("bench-sup0", "bench-admin"):
            client = Client()
            client.force_login(users.get(username=who))
            for label, page_url in PAGES:
                if cached and ("metrics" not in page_url or page_url.endswith("board/")):
                    continue
                median, p95, queries = measure(client, page_url, args.samples)
                label = f"{label}, figures reused (<= 1 sweep interval)" if cached else label
                results.append((who, label, median, p95, queries))
                print(
                    f"{who:12} {label:60} median {median:7.1f} ms  p95 {p95:7.1f} ms  {queries} q"
                )

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Supervisor board and metrics (issue 7)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on PostgreSQL, Django test client "
        f"(whole request: middleware, session, view, template), {args.samples} samples each "
        "after one warm-up request.",
        "",
        "Data: "
        + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
        + f"; {args.teams} teams, {args.reps} reps"
        + (f"; generated in {load_seconds:.0f} s" if load_seconds else " (reused)")
        + ".",
        f"Goal: p95 < {GOAL_MS} ms at 1,000,000 follow-ups / 10,000,000 interactions / 200 reps.",
        "Machine: 2 shared cores; load average at the end of the run "
        + ", ".join(f"{load:.1f}" for load in os.getloadavg())
        + " (other test suites were running).",
        "",
        "Rows without 'reused' compute every figure on the request. Metrics pages by default "
        "reuse figures for at most one sweep interval (METRICS_CACHE_SECONDS, default "
        "FOLLOWUP_SWEEP_SECONDS), the staleness the issue allows; the board is never reused "
        "(its counts and lists are computed at one instant).",
        "",
        "| user | page | median ms | p95 ms | queries | p95 < goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for who, label, median, p95, queries in results:
        scope = "supervisor (1 team)" if who.startswith("bench-sup") else "admin (all teams)"
        lines.append(
            f"| {scope} | {label} | {median:.1f} | {p95:.1f} | {queries} | {'yes' if p95 < GOAL_MS else 'NO'} |"
        )
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
