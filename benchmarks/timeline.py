"""Benchmark for issue 4: a customer's timeline, first page.

    python -m benchmarks.timeline [--rows 10000000] [--customer-rows 10000] [--samples 200] [--reuse]

Fills a throw-away PostgreSQL database `<DATABASE_URL db>_bench_timeline` with
`--rows` interactions (bulk SQL: INSERT ... SELECT generate_series), of which
`--customer-rows` belong to one customer and the rest are spread over 20,000
others, then times the real read paths:
- `interactions.selectors.customer_timeline` (first page, 25 rows, one query),
- GET /api/v1/customers/{id}/timeline/ (serialised JSON) through Django's test client,
- the htmx fragment /interactions/customers/{id}/timeline/ (rendered HTML),
- the third page via the cursor.
Goal (issue 4): first page p95 < 50 ms for a customer with 10,000 interactions
in a table of 10,000,000. Writes var/bench/timeline.md; numbers on a shared
2-core machine are recorded, not asserted.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import bench_database_url, ensure_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "timeline.md"
OTHER_CUSTOMERS = 20_000
# Rows per INSERT ... SELECT: big enough to be set-based, small enough to show progress.
CHUNK = 1_000_000


def _insert_select(model, count: int, overrides: dict[str, str], *, offset: int = 0) -> None:
    """INSERT INTO <model> SELECT ... FROM generate_series: every column not in
    `overrides` (SQL over the series value `g`) gets the field's Python default."""
    from django.db import connection

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in overrides:
            expressions.append(overrides[field.column])
            continue
        default = field.get_default()
        if default is None and field.name in ("created_at", "updated_at"):
            default = datetime.now(UTC)
        expressions.append("%s")
        params.append(field.get_db_prep_save(default, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} "  # noqa: S608
        f"FROM generate_series(%s, %s) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, offset + 1, offset + count])


def load(rows: int, customer_rows: int) -> int:
    """Returns the id of the customer with `customer_rows` interactions."""
    from django.db import connection

    from crm.models import Customer
    from interactions.models import Interaction

    print(f"loading {OTHER_CUSTOMERS + 1} customers …", flush=True)
    _insert_select(
        Customer,
        OTHER_CUSTOMERS + 1,
        {"full_name": "'Customer ' || g", "search_name": "'customer ' || g"},
    )
    # A fresh database: the ids are consecutive from the first.
    target = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    others_first = target + 1
    start = time.perf_counter()
    done = 0
    while done < rows:
        count = min(CHUNK, rows - done)
        # Rows g <= customer_rows belong to the target; the rest round-robin over the others.
        _insert_select(
            Interaction,
            count,
            {
                "customer_id": f"CASE WHEN g <= {customer_rows} THEN {target} "
                f"ELSE {others_first} + (g %% {OTHER_CUSTOMERS}) END",
                "channel": "(ARRAY['phone','email','in_person'])[1 + g %% 3]",
                "occurred_at": "now() - g * interval '37 seconds'",
                "duration_seconds": "g %% 900",
                "direction": "'inbound'",
                "summary": "'Note ' || g",
                "subject": "'Subject ' || g",
            },
            offset=done,
        )
        done += count
        print(f"  {done:,} interactions ({time.perf_counter() - start:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Interaction._meta.db_table}")  # noqa: S608
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")  # noqa: S608
    return target


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(function, samples: int) -> list[float]:
    function()  # warm-up (connection, plan cache)
    result = []
    for _ in range(samples):
        start = time.perf_counter()
        function()
        result.append((time.perf_counter() - start) * 1000)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--customer-rows", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep an existing database")
    args = parser.parse_args()
    url = bench_database_url("timeline")
    ensure_database(url, recreate=not args.reuse)
    setup_django(url)

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from crm.models import Customer
    from interactions import selectors
    from interactions.models import Interaction

    existing = Interaction.objects.count() if args.reuse else 0
    load_seconds = None
    if existing == 0:
        started = time.perf_counter()
        target = load(args.rows, args.customer_rows)
        load_seconds = time.perf_counter() - started
    else:
        target = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    total = Interaction.objects.count()
    mine = Interaction.objects.filter(customer_id=target).count()

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def selector_first() -> None:
        page = selectors.customer_timeline(customer_id=target)
        assert len(page.items) == selectors.TIMELINE_PAGE_SIZE

    first = selectors.customer_timeline(customer_id=target)
    second = selectors.customer_timeline(customer_id=target, cursor=first.next_cursor)

    def selector_third() -> None:
        selectors.customer_timeline(customer_id=target, cursor=second.next_cursor)

    def api_first() -> None:
        response = client.get(f"/api/v1/customers/{target}/timeline/")
        assert response.status_code == 200, response.status_code

    def fragment_first() -> None:
        response = client.get(f"/interactions/customers/{target}/timeline/")
        assert response.status_code == 200, response.status_code

    results = {
        "selector, first page": timed(selector_first, args.samples),
        "selector, third page (cursor)": timed(selector_third, args.samples),
        "API GET /api/v1/customers/{id}/timeline/": timed(api_first, args.samples),
        "htmx fragment /interactions/customers/{id}/timeline/": timed(fragment_first, args.samples),
    }
    rows = Interaction.objects.filter(customer_id=target).order_by("-occurred_at", "-pk")[:26]
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    lines = [
        "# Timeline benchmark (issue 4)",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `python -m benchmarks.timeline "
        f"--rows {args.rows}`",
        f"- interactions in the table: {total:,}; the customer's: {mine:,}",
        f"- load time: {load_seconds:.0f} s" if load_seconds else "- load: reused database",
        f"- samples per case: {args.samples}; goal: first page p95 < 50 ms",
        "",
        "| case | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|",
    ]
    for name, samples in results.items():
        lines.append(
            f"| {name} | {statistics.median(samples):.2f} | {percentile(samples, 0.95):.2f} "
            f"| {max(samples):.2f} |"
        )
    lines += ["", "Plan of the first-page query:", "", "```", plan, "```", ""]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
