"""Benchmark for issue 5: the follow-up sweep.

    python -m benchmarks.sweep [--open 1000000] [--due 1000] [--throughput 20000] [--repeat 5]

On a throw-away PostgreSQL database `<DATABASE_URL db>_bench_sweep` (rows made
with bulk SQL: INSERT ... SELECT generate_series):

1. The real sweep (`followups.sweep.followup_sweep`) finding the same
   1,000 due follow-ups among 10,000 open ones, then among 1,000,000 open
   ones. Goal: the second takes at most 2x the first (the partial index on
   next_action_at makes the cost follow the due rows, not the table).
2. Transitions per second of one sweep (one process = one worker) over
   `--throughput` due promises, each with one transition (overdue) and an
   in-app notification to its owner. Goal: >= 2,000/s.

Writes var/bench/sweep.md. Numbers on a shared 2-core machine are recorded,
not asserted.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import bench_database_url, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "sweep.md"


def people() -> dict:
    """One team (rep + supervisor) and an admin; no e-mail addresses, so the
    sweep writes in-app notifications only and enqueues nothing."""
    from django.contrib.auth import get_user_model

    from crm.models import Customer, Team, TeamMembership

    user_model = get_user_model()
    team = Team.objects.create(name="Bench", time_zone="America/New_York", holiday_country="US")
    rep = user_model.objects.create(username="bench-rep")
    supervisor = user_model.objects.create(username="bench-sup")
    user_model.objects.create(username="bench-admin", is_superuser=True)
    TeamMembership.objects.create(team=team, user=rep)
    TeamMembership.objects.create(team=team, user=supervisor, role="supervisor")
    customer = Customer.objects.create(full_name="Bench Customer")
    return {"team": team.pk, "rep": rep.pk, "customer": customer.pk}


def insert_followups(who: dict, count: int, *, due: bool) -> None:
    """`count` open follow-ups in one INSERT ... SELECT. Due ones fell due a
    minute ago (one transition: overdue); the others are due within 30 days."""
    from django.db import connection

    offset = (
        "-interval '1 minute'"
        if due
        else "+ (g %% 43200) * interval '1 minute' + interval '1 hour'"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO followups_followup (
                customer_id, owner_id, team_id, created_by_id, action, channel, priority,
                due_phrase, due_at, original_due_at, status, remind_at, escalate_1_at,
                escalate_2_at, next_action_at, is_reminded, is_overdue, escalation_level,
                cycle, renegotiation_count, completion_note, cancel_reason,
                created_at, updated_at)
            SELECT %(customer)s, %(rep)s, %(team)s, %(rep)s, 'Call back ' || g, 'phone',
                'normal', '', d, d, 'open', NULL, d + interval '1 day', d + interval '3 days',
                d, false, false, 0, 0, 0, '', '', now(), now()
            FROM (SELECT g, now() {offset} AS d FROM generate_series(1, %(count)s) AS g) AS s
            """,  # noqa: S608 (offset is one of two constants above)
            {**who, "count": count},
        )


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE followups_followup")
        cursor.execute("VACUUM ANALYZE followups_followupevent")
        cursor.execute("VACUUM ANALYZE followups_notification")


def reset_due(due_ids: list[int]) -> None:
    """Undo a sweep of the due rows so the same work can be timed again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM followups_notification")
        cursor.execute("DELETE FROM followups_followupevent")
        cursor.execute(
            "UPDATE followups_followup SET next_action_at = due_at, is_overdue = false "
            "WHERE id = ANY(%s)",
            [due_ids],
        )


def time_sweep(due_ids: list[int], repeat: int) -> tuple[list[float], int]:
    from django.utils import timezone

    from followups.sweep import followup_sweep

    timings = []
    made = 0
    for _ in range(repeat):
        reset_due(due_ids)
        vacuum()
        started = time.perf_counter()
        made = followup_sweep(now=timezone.now())
        timings.append(time.perf_counter() - started)
    return timings, made


def explain_claim() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM followups_followup WHERE status = 'open' "
            "AND next_action_at <= now() ORDER BY next_action_at, id LIMIT 500 FOR UPDATE SKIP LOCKED"
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def open_count() -> int:
    from followups.models import FollowUp

    return FollowUp.objects.filter(status="open").count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--throughput", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    url = bench_database_url("sweep")
    recreate_database(url)
    setup_django(url)
    from followups.models import FollowUp

    who = people()
    insert_followups(who, args.due, due=True)
    due_ids = list(FollowUp.objects.values_list("pk", flat=True))
    insert_followups(who, args.small - args.due, due=False)
    small_open = open_count()
    small, made_small = time_sweep(due_ids, args.repeat)
    plan_small = explain_claim()

    started = time.perf_counter()
    insert_followups(who, args.open - small_open, due=False)
    load_seconds = time.perf_counter() - started
    large_open = open_count()
    large, made_large = time_sweep(due_ids, args.repeat)
    plan_large = explain_claim()

    # Throughput: many due rows at once, one process sweeping them all.
    insert_followups(who, args.throughput - args.due, due=True)
    all_due = list(
        FollowUp.objects.filter(due_at__lte=datetime.now(tz=UTC)).values_list("pk", flat=True)
    )
    bulk, made_bulk = time_sweep(all_due, max(2, args.repeat // 2))
    rates = [made_bulk / seconds for seconds in bulk]

    ratio = statistics.median(large) / statistics.median(small)
    rate = statistics.median(rates)
    lines = [
        "# Follow-up sweep benchmark (issue 5)",
        "",
        f"Run {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC on this machine (2 shared cores), "
        "PostgreSQL, one process. Median of "
        f"{args.repeat} runs; each run resets the due rows and VACUUM ANALYZEs first.",
        "",
        "| scenario | open follow-ups | due | transitions | median sweep | runs (s) |",
        "|---|---:|---:|---:|---:|---|",
        f"| small table | {small_open:,} | {args.due:,} | {made_small:,} | "
        f"{statistics.median(small) * 1000:.1f} ms | {', '.join(f'{t:.3f}' for t in small)} |",
        f"| large table | {large_open:,} | {args.due:,} | {made_large:,} | "
        f"{statistics.median(large) * 1000:.1f} ms | {', '.join(f'{t:.3f}' for t in large)} |",
        f"| throughput | {large_open + args.throughput - args.due:,} | {len(all_due):,} | "
        f"{made_bulk:,} | {statistics.median(bulk) * 1000:.0f} ms | "
        f"{', '.join(f'{t:.3f}' for t in bulk)} |",
        "",
        f"- **Large / small: {ratio:.2f}x** (goal <= 2x): {'met' if ratio <= 2 else 'NOT met'}.",
        f"- **Transitions per second per worker: {rate:,.0f}** (goal >= 2,000/s): "
        f"{'met' if rate >= 2000 else 'NOT met'}. Each transition is an event row, the "
        "row's bookkeeping update and an in-app notification to its owner.",
        f"- Loading {args.open - small_open:,} rows with INSERT ... SELECT took {load_seconds:.1f} s.",
        "",
        "Claim plan at the small size:",
        "",
        "```",
        plan_small,
        "```",
        "",
        "Claim plan at the large size:",
        "",
        "```",
        plan_large,
        "```",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
