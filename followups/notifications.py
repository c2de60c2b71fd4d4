"""Notifications: in-app and e-mail delivery of the outbox rows the sweep writes.

An e-mail carries a stable Message-ID, so a retry never becomes a second
message in the recipient's thread; refusals retry with exponential backoff.
"""

import logging
import smtplib
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from followups.models import (
    Notification,
)

logger = logging.getLogger(__name__)
User = get_user_model()

DELIVER_TASK = "followups.tasks.deliver_notification"

EMAIL_MAX_ATTEMPTS = 8
EMAIL_MAX_BACKOFF = timedelta(hours=1)


# --- notifications --------------------------------------------------------------


def notifications_mark_read(
    *, user: AbstractBaseUser, notification_ids: list[int] | None = None
) -> int:
    """Mark the user's in-app notifications read (all when no ids are given)."""
    rows = Notification.objects.filter(
        recipient_id=user.pk, channel=Notification.Channel.IN_APP, read_at__isnull=True
    )
    if notification_ids is not None:
        rows = rows.filter(pk__in=notification_ids)
    return rows.update(read_at=timezone.now())


def email_backoff(attempts: int) -> timedelta:
    """Exponential: base, 2x base, 4x base ... capped at EMAIL_MAX_BACKOFF."""
    base = getattr(settings, "FOLLOWUP_EMAIL_RETRY_BASE_SECONDS", 30)
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), EMAIL_MAX_BACKOFF)


NOTIFICATION_SUBJECTS = {
    ("remind", 0): "Reminder: promise to {customer} due {due}",
    ("overdue", 0): "Overdue: promise to {customer} was due {due}",
    ("escalate", 1): "Escalated: {owner}'s promise to {customer} is overdue",
    ("escalate", 2): "Escalated to admins: promise to {customer} still overdue",
}


def notification_text(notification: Notification) -> tuple[str, str]:
    followup = notification.followup
    subject = NOTIFICATION_SUBJECTS.get(
        (notification.kind, notification.level), "Promise to {customer}"
    ).format(
        customer=followup.customer.display_name,
        due=f"{followup.due_at:%Y-%m-%d %H:%M} UTC",
        owner=followup.owner.get_full_name() or followup.owner.get_username(),
    )
    body = (
        f"{subject}\n\nPromise: {followup.action}\n"
        f"Customer: {followup.customer.display_name}\n"
        f"Due: {followup.due_at:%Y-%m-%d %H:%M} UTC\n"
        f"Owner: {followup.owner.get_username()}\n"
    )
    return subject, body


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> tuple[str, float]:
    """Send one pending e-mail notification. Returns (outcome, retry_in_seconds).

    The row is locked (SKIP LOCKED: a concurrent delivery of the same row is
    simply skipped) and marked sent in the same transaction as the send, so a
    second delivery of the task finds it sent. If the process dies between
    the SMTP server accepting and the commit, the retry carries the same
    Message-ID and the recipient's mail client shows one message.
    """
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "followup__customer", "followup__owner")
            .filter(
                pk=notification_id,
                channel=Notification.Channel.EMAIL,
                delivery_status=Notification.DeliveryStatus.PENDING,
            )
            .first()
        )
        if notification is None:
            return "skipped", 0.0
        subject, body = notification_text(notification)
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient.email],
            headers={"Message-ID": notification.message_id},
        )
        notification.attempts += 1
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if notification.attempts >= EMAIL_MAX_ATTEMPTS:
                notification.delivery_status = Notification.DeliveryStatus.FAILED
                notification.next_attempt_at = None
                outcome, delay = "failed", 0.0
            else:
                wait = email_backoff(notification.attempts)
                notification.next_attempt_at = now + wait
                outcome, delay = "retry", wait.total_seconds()
            notification.save(
                update_fields=["attempts", "last_error", "delivery_status", "next_attempt_at"]
            )
            # Class and SMTP code only: the error's text can quote the address.
            logger.warning(
                "E-mail notification %s not sent: %s %s",
                notification_id,
                type(exc).__name__,
                getattr(exc, "smtp_code", ""),
            )
            return outcome, delay
        notification.delivery_status = Notification.DeliveryStatus.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.save(
            update_fields=["attempts", "delivery_status", "sent_at", "next_attempt_at"]
        )
        return "sent", 0.0


def deliver_notification_enqueue(notification_id: int) -> None:
    """Wake the delivery task up for one outbox row (tasks.py imports this module,
    so the task is named, not imported)."""
    current_app.send_task(DELIVER_TASK, args=[notification_id])
