"""Benchmark for issue 16: webhook fan-out.

    python -m benchmarks.webhooks [--due 10000] [--endpoints 3] [--repeat 3]

On a throw-away PostgreSQL database `<DATABASE_URL db>_bench_webhooks`:

1. The sweep's rate over `--due` due promises (one overdue transition each)
   with no active webhook endpoint (the baseline) and with `--endpoints`
   active endpoints subscribed to everything, in alternating runs so both see
   the same machine load. With endpoints the sweep's statement writes one
   outbox row per batch; the deliveries are expanded later, off the sweep.
   Goal: the rate with endpoints within 10% of the rate without.
2. The fan-out: deliveries per second expanded from the outbox rows the last
   sweep left (`webhook_fan_out`, the sender's task does this).
3. Deliveries per second of one sender process (`webhook_deliveries_send`,
   signed POSTs) draining that backlog against a local receiver answering 200,
   running in its own process as a real receiver would (`--receiver thread`
   puts it in the sender's process instead, competing for its interpreter).
   Goal: >= 500/s per worker. `--latency-ms` makes the receiver answer late,
   as one across a network does (what WEBHOOK_SEND_CONCURRENCY is for).

Writes var/bench/webhooks.md. Numbers on a shared 2-core machine are recorded,
not asserted.
"""

import argparse
import multiprocessing
import os
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
SWEEP_GOAL = 0.10  # the sweep with endpoints at most 10% slower than without
SENDER_GOAL = 500  # deliveries per second per worker


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender batch
    latency = 0.0  # seconds before answering: a receiver across a network

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.latency:
            time.sleep(self.latency)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(port_queue, latency: float) -> None:
    _Ok.latency = latency
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


class Receiver:
    """A local receiver answering 200: in its own process, or a thread of this one."""

    def __init__(self, kind: str, latency: float = 0.0):
        self.kind = kind
        _Ok.latency = latency
        if kind == "process":
            ports = multiprocessing.get_context("fork").Queue()
            self.process = multiprocessing.get_context("fork").Process(
                target=_serve, args=(ports, latency), daemon=True
            )
            self.process.start()
            self.port = ports.get(timeout=10)
        else:
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
            self.server.daemon_threads = True
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        if self.kind == "process":
            self.process.terminate()
            self.process.join(5)
        else:
            self.server.shutdown()


def _reset(due_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM followups_webhookdelivery")
        cursor.execute("DELETE FROM followups_webhookoutbox")
        cursor.execute("DELETE FROM followups_notification")
        cursor.execute("DELETE FROM followups_followupevent WHERE kind <> 'created'")
        cursor.execute(
            "UPDATE followups_followup SET next_action_at = due_at, is_overdue = false "
            "WHERE id = ANY(%s)",
            [due_ids],
        )


def _sweep_rate(due_ids: list[int], *, endpoints_active: bool) -> float:
    from django.utils import timezone

    from followups.models import WebhookEndpoint
    from followups.sweep import followup_sweep

    WebhookEndpoint.objects.update(is_active=endpoints_active)
    _reset(due_ids)
    vacuum()
    started = time.perf_counter()
    made = followup_sweep(now=timezone.now())
    return made / (time.perf_counter() - started)


def _runs(rates: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--receiver", choices=["process", "thread"], default="process")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="the receiver waits this long to answer"
    )
    args = parser.parse_args()

    url = bench_database_url("webhooks")
    recreate_database(url)
    setup_django(url)
    from django.conf import settings

    from followups import webhooks
    from followups.models import FollowUp, WebhookDelivery, WebhookOutbox

    who = people()
    insert_followups(who, args.due, due=True)
    due_ids = list(FollowUp.objects.values_list("pk", flat=True))
    receiver = Receiver(args.receiver, latency=args.latency_ms / 1000)
    for _ in range(args.endpoints):
        webhooks.webhook_endpoint_create(url=receiver.url)

    without, with_endpoints = [], []
    for _ in range(args.repeat):  # alternating: both see the same load
        without.append(_sweep_rate(due_ids, endpoints_active=False))
        with_endpoints.append(_sweep_rate(due_ids, endpoints_active=True))
    outbox_rows = WebhookOutbox.objects.count()

    started = time.perf_counter()
    expanded = 0
    while (fanned := webhooks.webhook_fan_out()).outbox_rows:
        expanded += fanned.deliveries
    fan_out_seconds = time.perf_counter() - started
    backlog = WebhookDelivery.objects.filter(status="pending").count()

    started = time.perf_counter()
    sent = 0
    while batch := webhooks.webhook_deliveries_send():
        sent += batch
    drain_seconds = time.perf_counter() - started
    receiver.stop()
    delivered = WebhookDelivery.objects.filter(status="sent").count()

    rate_without = statistics.median(without)
    rate_with = statistics.median(with_endpoints)
    slowdown = 1 - rate_with / rate_without
    fan_out_rate = expanded / fan_out_seconds if fan_out_seconds else 0.0
    per_second = sent / drain_seconds if drain_seconds else 0.0
    load = os.getloadavg()[0]
    lines = [
        "# Webhook fan-out benchmark (issue 16)",
        "",
        f"Run {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC on this machine (2 shared cores, load "
        f"average {load:.1f} at the end), PostgreSQL, one process, {args.due:,} due promises "
        f"(one overdue transition each), median of {args.repeat} sweeps each, the two "
        "scenarios alternating.",
        "",
        "| scenario | transitions/s | runs |",
        "|---|---:|---|",
        f"| sweep, no active endpoint (baseline) | {rate_without:,.0f} | {_runs(without)} |",
        f"| sweep, {args.endpoints} endpoints | {rate_with:,.0f} | {_runs(with_endpoints)} |",
        "",
        f"- **Sweep with {args.endpoints} endpoints / without: {rate_with / rate_without:.2f} "
        f"({slowdown:+.1%} slower)**; goal: at most {SWEEP_GOAL:.0%} slower: "
        f"{'met' if slowdown <= SWEEP_GOAL else 'NOT met'}. The sweep writes one outbox row "
        f"per batch ({outbox_rows} for the last run), never a row per endpoint.",
        f"- Fan-out (off the sweep, in the sender's task): {expanded:,} deliveries from "
        f"{outbox_rows} outbox rows in {fan_out_seconds:.2f} s ({fan_out_rate:,.0f}/s).",
        f"- **Deliveries per second, one sender: {per_second:,.0f}** (goal >= {SENDER_GOAL}/s): "
        f"{'met' if per_second >= SENDER_GOAL else 'NOT met'}. {sent:,} signed POSTs "
        f"({delivered:,} acknowledged) of a {backlog:,}-delivery backlog in {drain_seconds:.1f} s "
        f"against a local receiver answering 200 after {args.latency_ms:g} ms ("
        + ("its own process" if args.receiver == "process" else "a thread of the sender's process")
        + f"), {settings.WEBHOOK_SEND_CONCURRENCY} POSTs in flight "
        "(WEBHOOK_SEND_CONCURRENCY).",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
