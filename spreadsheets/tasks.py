"""Celery entry points of the spreadsheets app."""

from celery import shared_task

from spreadsheets import services


# 100,000 rows take about two minutes: the limits leave room for a busy machine.
@shared_task(time_limit=3600, soft_time_limit=3500)
def customer_import_process(*, customer_import_id: int) -> None:
    """Process the import's current phase from its checkpoint (idempotent: a
    redelivered task resumes, or returns when the phase is over or another
    worker holds the import)."""
    services.customer_import_process(customer_import_id=customer_import_id)


@shared_task
def customer_imports_expire() -> int:
    """Beat, hourly: files and row details past IMPORT_RETENTION_DAYS go (idempotent)."""
    return services.customer_imports_expire()
