"""No personal data in logs: a day's work against a real gunicorn (config/gunicorn.py, its
access log turned on) and a Celery worker over the demo data, then the logs are searched for
every demo customer's name, phone number and e-mail address."""

import io
import re
import socket
import subprocess
import sys

import pytest
import requests
from django.core.management import call_command

from crm.models import ContactPoint, Customer
from interactions.models import Interaction
from tests.api_clients.helpers import bearer_client
from tests.processes import ROOT, CeleryProcess, flush_broker, process_env, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def day(transactional_db, django_db_serialized_rollback, tmp_path, settings):
    call_command("seed_demo", stdout=io.StringIO())
    flush_broker(settings.CELERY_BROKER_URL)
    port = _free_port()
    web_log = tmp_path / "web.log"
    env = process_env()
    with web_log.open("wb") as log:
        web = subprocess.Popen(
            # The access log turned on; its format is config/gunicorn.py's.
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--config",
                "python:config.gunicorn",
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "-",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = CeleryProcess("worker", tmp_path / "worker.log", env, [])
    base = f"http://127.0.0.1:{port}"

    def is_up() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert wait_for(is_up, timeout=60), web_log.read_text()
        yield base, web_log, worker
    finally:
        worker.stop()
        web.terminate()
        web.wait(timeout=30)


def _personal_values() -> set[str]:
    values = set(Customer.objects.values_list("full_name", flat=True))
    for kind, value in ContactPoint.objects.values_list("kind", "value"):
        values.add(value)
        if kind == ContactPoint.Kind.PHONE:
            values.add(re.sub(r"\D", "", value)[-10:])  # the national digits too
    return {value for value in values if len(value) >= 6}


def test_a_days_logs_hold_no_customer_names_numbers_or_addresses(day):
    base, web_log, worker = day
    _, _, secret = bearer_client(
        "customers:read", "interactions:read", "interactions:write", "followups:read", name="pbx"
    )
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {secret}"
    customers = list(Customer.objects.filter(merged_into__isnull=True).order_by("pk")[:5])
    phones = dict(
        ContactPoint.objects.filter(kind=ContactPoint.Kind.PHONE).values_list("customer", "value")
    )
    emails = dict(
        ContactPoint.objects.filter(kind=ContactPoint.Kind.EMAIL).values_list("customer", "value")
    )
    answers = []
    for customer in customers:
        phone, email = phones.get(customer.pk), emails.get(customer.pk)
        if phone:
            answers.append(http.get(f"{base}/api/v1/lookup/", params={"phone": phone}))
            answers.append(http.post(f"{base}/api/v1/lookup/", json={"phone": phone}))
        if email:
            answers.append(http.get(f"{base}/api/v1/lookup/", params={"email": email}))
            raw = (
                f"From: {customer.full_name} <{email}>\r\nTo: support@rapport.example\r\n"
                f"Subject: Question from {customer.full_name}\r\n"
                f"Message-ID: <day-{customer.pk}@example.com>\r\n\r\nHello, {customer.full_name}"
            ).encode()
            answers.append(
                http.post(
                    f"{base}/api/v1/interactions/email/",
                    data=raw,
                    headers={"Content-Type": "message/rfc822"},
                )
            )
        answers.append(http.get(f"{base}/api/v1/customers/", params={"q": customer.full_name}))
        answers.append(http.get(f"{base}/api/v1/customers/{customer.pk}/timeline/"))
        answers.append(  # a bad request logs a warning: still no personal data
            http.get(f"{base}/api/v1/lookup/", params={"phone": phone or "1", "email": "x@y.z"})
        )
        answers.append(
            requests.get(f"{base}/customers/", params={"q": customer.full_name}, timeout=30)
        )
    sync = http.post(
        f"{base}/api/v1/interactions/sync/",
        json={
            "records": [
                {
                    "source": "pbx",
                    "external_id": f"day-{c.pk}",
                    "channel": "phone",
                    "direction": "inbound",
                    "occurred_at": "2026-03-05T10:00:00Z",
                    "customer_phone": phones.get(c.pk, "+14155550100"),
                    "customer_name": c.full_name,
                }
                for c in customers
            ]
        },
    )
    # The worker's day: survey requests to customers and the follow-up sweep.
    from followups.tasks import sweep
    from interactions.tasks import feedback_request_send

    for interaction in Interaction.objects.filter(customer__in=customers)[:5]:
        feedback_request_send.delay(interaction.pk, base + "/")
    sweep.delay()
    assert wait_for(lambda: worker.output().count("succeeded") >= 6, timeout=90), worker.output()

    assert sync.status_code == 200
    assert {a.status_code for a in answers} <= {200, 201, 400}
    logs = web_log.read_text(errors="replace") + worker.output()
    assert "/api/v1/lookup/" in logs  # the access log is there
    leaked = sorted(value for value in _personal_values() if value in logs)
    assert leaked == []
