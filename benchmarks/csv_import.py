"""Benchmark for issue 15: customer CSV import and the streamed export.

    python -m benchmarks.csv_import [--rows 100000] [--export 1000000]

On a throw-away PostgreSQL database `<DATABASE_URL db>_bench_csvio`:
1. Import: a generated spreadsheet of `--rows` customers (national and
   international phones, e-mails, time zones, languages, a note on every
   tenth row, dd/mm/yyyy dates, 1% bad rows, 1% duplicate rows) goes through
   the real path (spreadsheets.services: upload, dry run, run), then is
   imported again (everything must match, nothing created). Goal (issue 15):
   100,000 rows under 2 minutes on 2 cores.
2. Export: `--export` customers (a phone and an e-mail each, loaded with
   set-based SQL) stream through spreadsheets.selectors.customer_export_lines
   in a child process, which reports its time and peak RSS (bounded memory:
   the peak must not grow with the number of customers).
Writes var/bench/csv_import.md; numbers on a shared 2-core machine are
recorded, not asserted.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import bench_database_url, ensure_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "csv_import.md"
FIRST = ["Anna", "Jürgen", "Siobhán", "José", "Zoë", "Chen", "Kofi", "Priya", "Émilie", "Omar"]
LAST = ["Müller", "O'Brien", "García", "Smith", "Nakamura", "Okafor", "Dubois", "Kowalski"]
ZONES = ["America/New_York", "Europe/Berlin", "Europe/London", "Asia/Tokyo", ""]
LANGUAGES = ["en-US", "de-DE", "en-gb", "ja", ""]


def spreadsheet(rows: int) -> bytes:
    lines = [
        "\ufeffFirst name;Last name;Phone;E-mail;Time zone;Language;Organisation;Notes;Last contact"
    ]
    for index in range(rows):
        # Every 100th row repeats the row above (its phone written another way).
        person = index - 1 if index % 100 == 9 else index
        number = f"{2_000_000 + person:07d}"
        phone = (
            f"+1 212 {number[:3]} {number[3:]}" if index % 2 else f"(212) {number[:3]}-{number[3:]}"
        )
        if index % 100 == 7:
            phone = "12"  # a bad row
        lines.append(
            ";".join(
                [
                    FIRST[person * 7 % len(FIRST)],
                    LAST[person * 3 % len(LAST)] + f" {person}",
                    phone,
                    f"person{person}@example.com",
                    ZONES[person % len(ZONES)],
                    LANGUAGES[person * 3 % len(LANGUAGES)],
                    f"Org {person % 500}",
                    f"Met at the fair, stand {person}" if person % 10 == 0 else "",
                    f"{1 + person % 28:02d}/{1 + person % 12:02d}/2025",
                ]
            )
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def _cpu_seconds() -> tuple[float, float]:
    """(this process's CPU seconds, its PostgreSQL backend's CPU seconds).

    On a shared machine the wall time says how busy the neighbours are; the
    CPU the import and its database backend spend is what a quiet 2-core
    machine would take (the two run one after the other)."""
    from django.db import connection

    usage = resource.getrusage(resource.RUSAGE_SELF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:  # PostgreSQL on another host
        backend = float("nan")
    return usage.ru_utime + usage.ru_stime, backend


def measure_import(rows: int) -> dict:
    from crm.models import ContactPoint, Customer
    from spreadsheets import services

    content = spreadsheet(rows)
    timings = {}
    started = time.perf_counter()
    upload = services.customer_import_upload(file_name="bench.csv", content=content, actor=None)
    timings["upload"] = time.perf_counter() - started
    for phase, dry_run in (("dry run", True), ("run", False)):
        services.customer_import_start(customer_import_id=upload.pk, dry_run=dry_run)
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        result = services.customer_import_process(customer_import_id=upload.pk)
        timings[phase] = time.perf_counter() - started
        cpu_after = _cpu_seconds()
        timings[f"{phase} cpu"] = tuple(b - a for a, b in zip(cpu_before, cpu_after, strict=True))
        timings[f"{phase} counts"] = (
            result.created_count,
            result.updated_count,
            result.matched_count,
            result.error_count,
        )
    again = services.customer_import_upload(file_name="again.csv", content=content, actor=None)
    services.customer_import_start(customer_import_id=again.pk, dry_run=False)
    started = time.perf_counter()
    result = services.customer_import_process(customer_import_id=again.pk)
    timings["re-import"] = time.perf_counter() - started
    timings["re-import counts"] = (
        result.created_count,
        result.updated_count,
        result.matched_count,
        result.error_count,
    )
    timings["customers"] = Customer.objects.count()
    timings["contact points"] = ContactPoint.objects.count()
    return timings


def load_export_customers(count: int) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_customer (full_name, preferred_name, pronunciation, pronouns, "
            "time_zone, preferred_language, preferred_channel, accessibility_needs, organisation, "
            "organisation_role, search_name, created_at, updated_at) "
            "SELECT 'Export Person ' || g, '', '', '', 'Europe/Berlin', 'de-DE', '', '', "
            "'Org ' || (g %% 500), '', 'export person ' || g, now(), now() "
            "FROM generate_series(1, %s) AS g",
            [count],
        )
        cursor.execute(
            "INSERT INTO crm_contactpoint (customer_id, kind, label, value, extension, is_primary, "
            "created_at) SELECT id, 'phone', 'mobile', '+1646' || lpad(id::text, 7, '0'), '', "
            "true, now() FROM crm_customer WHERE full_name LIKE 'Export Person %%' "
            "UNION ALL SELECT id, 'email', 'other', 'export' || id || '@example.com', '', true, "
            "now() FROM crm_customer WHERE full_name LIKE 'Export Person %%'",
            [],
        )
        cursor.execute("ANALYZE crm_customer; ANALYZE crm_contactpoint")
    return time.perf_counter() - started


def _high_water_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss, not inherited from the
    parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_export_child() -> None:
    """Runs in its own process so its peak RSS is the export's alone."""
    from spreadsheets.selectors import customer_export_lines, customers_for_export

    baseline = _high_water_mb()
    started = time.perf_counter()
    lines = size = 0
    for line in customer_export_lines(customers=customers_for_export()):
        lines += 1
        size += len(line.encode())
    elapsed = time.perf_counter() - started
    peak = _high_water_mb()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": lines - 2,  # the BOM and the header
                "bytes": size,
                "baseline_rss_mb": baseline,
                "peak_rss_mb": peak,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--export", type=int, default=1_000_000)
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        os.environ["DATABASE_URL"] = os.environ["BENCH_CSVIO_URL"]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
        import django

        django.setup()
        measure_export_child()
        return 0
    url = bench_database_url("csvio")
    ensure_database(url, recreate=True)
    setup_django(url)
    print(f"import of {args.rows} rows ...", flush=True)
    imported = measure_import(args.rows)
    print(imported, flush=True)
    print(f"loading {args.export} customers for the export ...", flush=True)
    load_seconds = load_export_customers(args.export)
    exports = []
    for _ in range(2):
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.csv_import", "--export-child"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "BENCH_CSVIO_URL": url},
        )
        exports.append(json.loads(child.stdout.strip().splitlines()[-1]))
    export = min(exports, key=lambda e: e["seconds"])
    print(export, flush=True)
    rows = args.rows
    run = imported["run"]
    run_cpu = imported["run cpu"]
    dry_cpu = imported["dry run cpu"]
    load = os.getloadavg()
    report = f"""## csv_import

Customer CSV import ({rows:,} rows, every 100th a bad row and every 100th a duplicate) and streamed export ({export["rows"]:,} customers),
load average {load[0]:.1f} at the end on {os.cpu_count()} cores.

| step | seconds | rows/s |
|---|---:|---:|
| upload (decode, sniff, count) | {imported["upload"]:.1f} | {rows / imported["upload"]:,.0f} |
| dry run | {imported["dry run"]:.1f} | {rows / imported["dry run"]:,.0f} |
| run (bulk writes, audit, checkpoints) | {run:.1f} | {rows / run:,.0f} |
| re-import of the same file | {imported["re-import"]:.1f} | {rows / imported["re-import"]:,.0f} |

Counts (created, updated, matched, errors): dry run {imported["dry run counts"]}, run
{imported["run counts"]}, re-import {imported["re-import counts"]} (must create nothing).
Customers after: {imported["customers"]:,}; contact points: {imported["contact points"]:,}.

CPU seconds of the run: import process {run_cpu[0]:.1f}, PostgreSQL backend {run_cpu[1]:.1f}
(dry run: {dry_cpu[0]:.1f} + {dry_cpu[1]:.1f}); on a quiet machine the run takes about their sum.

Goal: 100,000 rows in < 120 s. Run at this size: {run:.1f} s wall; at {rows / run:,.0f} rows/s,
100,000 rows take about {100_000 / (rows / run):.0f} s at this load, about
{100_000 / rows * sum(run_cpu):.0f} s on a quiet machine (CPU seconds, scaled linearly).

Export: {export["rows"]:,} customers (the loaded ones and the imported ones) in {export["seconds"]:.1f} s
({export["rows"] / export["seconds"]:,.0f} rows/s, {export["bytes"] / 1e6:.1f} MB of CSV);
RSS {export["baseline_rss_mb"]:.0f} MB after start-up, peak {export["peak_rss_mb"]:.0f} MB
(loading the customers took {load_seconds:.1f} s).
"""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
