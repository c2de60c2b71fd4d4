"""Benchmark for issue 16: webhook fan-out.

    python -m benchmarks.webhooks [--due 10000] [--endpoints 3] [--repeat 3]

On a throw-away PostgreSQL database `<DATABASE_URL db>_bench_webhooks`:

1. The sweep's rate over `--due` due promises (one overdue transition each)
   with no webhook endpoints, then with `--endpoints` active endpoints (the
   sweep's one statement also writes a delivery per event and endpoint).
   Goal: within 10% of the rate without endpoints.
2. Deliveries per second of one sender process (`webhook_deliveries_send`,
   signed POSTs) draining the backlog against a local receiver answering 200.
   Goal: >= 500/s per worker.

Writes var/bench/webhooks.md. Numbers on a shared 2-core machine are recorded,
not asserted.
"""

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.common import bench_database_url, recreate_database, setup_django
from benchmarks.sweep import insert_followups, people, vacuum

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "webhooks.md"


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender batch

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _reset(due_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM followups_webhookdelivery")
        cursor.execute("DELETE FROM followups_notification")
        cursor.execute("DELETE FROM followups_followupevent WHERE kind <> 'created'")
        cursor.execute(
            "UPDATE followups_followup SET next_action_at = due_at, is_overdue = false "
            "WHERE id = ANY(%s)",
            [due_ids],
        )


def _sweep_rates(due_ids: list[int], repeat: int) -> list[float]:
    from django.utils import timezone

    from followups.sweep import followup_sweep

    rates = []
    for _ in range(repeat):
        _reset(due_ids)
        vacuum()
        started = time.perf_counter()
        made = followup_sweep(now=timezone.now())
        rates.append(made / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url = bench_database_url("webhooks")
    recreate_database(url)
    setup_django(url)
    from followups import webhooks
    from followups.models import FollowUp, WebhookDelivery

    who = people()
    insert_followups(who, args.due, due=True)
    due_ids = list(FollowUp.objects.values_list("pk", flat=True))

    without = _sweep_rates(due_ids, args.repeat)
    server = _receiver()
    receiver_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    for _ in range(args.endpoints):
        webhooks.webhook_endpoint_create(url=receiver_url)
    with_endpoints = _sweep_rates(due_ids, args.repeat)
    backlog = WebhookDelivery.objects.filter(status="pending").count()

    started = time.perf_counter()
    sent = 0
    while batch := webhooks.webhook_deliveries_send():
        sent += batch
    drain_seconds = time.perf_counter() - started
    server.shutdown()
    delivered = WebhookDelivery.objects.filter(status="sent").count()

    rate_without = statistics.median(without)
    rate_with = statistics.median(with_endpoints)
    slowdown = 1 - rate_with / rate_without
    per_second = sent / drain_seconds if drain_seconds else 0.0
    lines = [
        "# Webhook fan-out benchmark (issue 16)",
        "",
        f"Run {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC on this machine (2 shared cores), "
        f"PostgreSQL, one process, {args.due:,} due promises (one overdue transition each), "
        f"median of {args.repeat} sweeps.",
        "",
        "| scenario | transitions/s | runs |",
        "|---|---:|---|",
        f"| sweep, no endpoints | {rate_without:,.0f} | {', '.join(f'{r:,.0f}' for r in without)} |",
        f"| sweep, {args.endpoints} endpoints | {rate_with:,.0f} | "
        f"{', '.join(f'{r:,.0f}' for r in with_endpoints)} |",
        "",
        f"- **Sweep slowdown with {args.endpoints} endpoints: {slowdown:.1%}** (goal <= 10%): "
        f"{'met' if slowdown <= 0.10 else 'NOT met'}.",
        f"- **Deliveries per second, one sender: {per_second:,.0f}** (goal >= 500/s): "
        f"{'met' if per_second >= 500 else 'NOT met'}. {sent:,} signed POSTs "
        f"({delivered:,} acknowledged) of a {backlog:,}-delivery backlog in {drain_seconds:.1f} s "
        "against a local receiver answering 200.",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
