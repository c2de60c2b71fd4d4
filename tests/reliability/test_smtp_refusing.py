"""A real SMTP server on loopback refuses mail for a while: deliveries retry, arrive once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups import services
from followups.models import Notification
from tests.factories import CustomerFactory
from tests.processes import wait_for
from tests.reliability.builders import people

pytestmark = pytest.mark.reliability


def test_refused_mail_is_retried_with_backoff_and_arrives_once(celery_processes, loopback_smtp):
    who = people(with_email=True)
    for index in range(5):
        services.followup_promise(
            customer=CustomerFactory(),
            owner=who["rep"],
            action=f"Call back {index}",
            due_at=timezone.now() + timedelta(seconds=2),
        )
    mail_env = {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_URL": f"smtp://127.0.0.1:{loopback_smtp.port}",
        "FOLLOWUP_EMAIL_RETRY_BASE_SECONDS": "1",
    }
    worker = celery_processes("worker", **mail_env)
    celery_processes("beat", FOLLOWUP_SWEEP_SECONDS="1", **mail_env)

    # The overdue notices are created and their first sends refused...
    refused_some = wait_for(lambda: loopback_smtp.refused >= 5, timeout=60)
    assert refused_some, worker.output()[-3000:]
    # ...then the server recovers.
    wait_for(lambda: loopback_smtp.refused >= 12, timeout=20)
    loopback_smtp.refusing = False

    emails = Notification.objects.filter(channel="email")
    delivered = wait_for(
        lambda: emails.count() == 5 and not emails.exclude(delivery_status="sent").exists(),
        timeout=60,
    )
    assert delivered, worker.output()[-3000:]
    assert all(attempts >= 2 for attempts in emails.values_list("attempts", flat=True))
    message_ids = sorted("".join(m["Message-ID"].split()) for m in loopback_smtp.received)
    assert message_ids == sorted(n.message_id for n in emails)  # each once, none doubled
    assert {message["To"] for message in loopback_smtp.received} == {who["rep"].email}
