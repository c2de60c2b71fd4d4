"""A day's logs hold no customer's name, phone number or e-mail address (issue 17).

The demo data, then a day of what reps, supervisors, API clients and the
engine do — searches by name, caller lookups by phone and e-mail, customer
pages, a sync batch, the sweep and its e-mails (some refused by SMTP) —
with every log line captured at the production level, as JSON.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from crm.models import ContactPoint, Customer
from followups.models import Notification
from followups.sweep import followup_sweep
from followups.tasks import deliver_notification
from tests.api_clients.helpers import bearer_client
from tests.observability.test_structured_logs import log_lines  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_days_logs_name_no_customer(client, log_lines, settings):  # noqa: F811
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: PTH123, SIM115
    customers = list(Customer.objects.order_by("pk")[:40])
    phones = list(
        ContactPoint.objects.filter(kind="phone", customer__in=customers).values_list(
            "value", flat=True
        )
    )
    emails = list(
        ContactPoint.objects.filter(kind="email", customer__in=customers).values_list(
            "value", flat=True
        )
    )
    assert len(phones) >= 20
    assert len(emails) >= 20

    from django.contrib.auth import get_user_model

    rep = get_user_model().objects.get(username="maria")
    supervisor = get_user_model().objects.get(username="sam")
    _, api, _ = bearer_client("customers:read", "interactions:read", "interactions:write")

    client.force_login(rep)
    for customer in customers[:10]:
        assert client.get("/customers/", {"q": customer.full_name}).status_code == 200
        assert client.get(f"/customers/{customer.pk}/").status_code == 200
    for phone, email in zip(phones[:10], emails[:10], strict=False):
        assert api.get("/api/v1/lookup/", {"phone": phone}).status_code in (200, 404)
        assert api.get("/api/v1/lookup/", {"email": email}).status_code in (200, 404)
    assert api.get("/api/v1/customers/", {"search": customers[0].full_name}).status_code == 200
    records = [
        {
            "source": "pbx",
            "external_id": f"call-{n}",
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": (timezone.now() - timedelta(minutes=n)).isoformat(),
            "duration_seconds": 60 + n,
            "customer_phone": phone,
            "summary": "Called about the invoice",
        }
        for n, phone in enumerate(phones[:10])
    ]
    records.append({**records[0], "external_id": "bad", "customer_phone": "not a phone"})
    assert api.post(
        "/api/v1/interactions/sync/", {"records": records}, format="json"
    ).status_code in (
        200,
        207,
    )
    client.force_login(supervisor)
    assert client.get("/supervisor/board/").status_code == 200

    # The engine's day: the sweep, and e-mails refused by a dead SMTP server.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        followup_sweep()
        pending = Notification.objects.filter(channel="email", delivery_status="pending")
        for notification_id in pending.values_list("pk", flat=True)[:10]:
            deliver_notification.apply(args=[notification_id])

    lines = log_lines()
    assert any(line["message"] == "request finished" for line in lines)
    assert any("not sent: ConnectionRefusedError" in line["message"] for line in lines)
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).lower()
    leaks = [customer.full_name for customer in customers if customer.full_name.lower() in text]
    leaks += [email for email in emails if email.lower() in text]
    leaks += [phone for phone in phones if phone.lstrip("+") in text]
    assert leaks == []
