"""Periodic housekeeping for the API layer."""

from celery import shared_task

from core.idempotency import idempotency_records_purge


@shared_task(time_limit=300, soft_time_limit=240)
def idempotency_records_purge_expired() -> int:
    """Delete Idempotency-Key records past their 24 h window (idempotent: deleting twice is fine)."""
    return idempotency_records_purge()
