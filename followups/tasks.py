from celery import shared_task

from followups.services import followup_sweep


@shared_task(name="followups.tasks.sweep", time_limit=120, soft_time_limit=100)
def sweep() -> int:
    return followup_sweep()
