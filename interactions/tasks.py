"""Celery entry points of the interaction log: take ids, call one service."""

import smtplib

from celery import shared_task

from interactions import services


@shared_task(
    bind=True,
    name="interactions.tasks.feedback_request_send",
    time_limit=60,
    soft_time_limit=45,
    max_retries=5,
)
def feedback_request_send(self, interaction_id: int, base_url: str) -> bool:
    """Idempotent enough for at-least-once delivery: a re-run after feedback was
    given sends nothing, and the fixed Message-ID keeps a resend one message."""
    try:
        return services.interaction_feedback_request_send(
            interaction_id=interaction_id, base_url=base_url
        )
    except (smtplib.SMTPException, OSError) as exc:  # transient mail server trouble
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 2)) from exc
