"""The Celery app. Apps declare tasks with `shared_task` and never import this.

`celery -A config worker|beat` is a server entry point, like `config.wsgi`: it
gets the production settings unless DJANGO_SETTINGS_MODULE says otherwise, and
production refuses to start without a real SECRET_KEY. `manage.py` and the
development Procfile (`make run`) choose `config.settings.local` themselves,
before this module is imported (`config/__init__.py` imports it).
"""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

from config import metrics, structured_logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("rapport")


def _gc_freeze(**kwargs) -> None:
    """A worker process's loaded application is not garbage: kept out of the cyclic
    collector's full walks (config/gunicorn.py says why)."""
    gc.freeze()


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
metrics.connect_celery_signals()  # task outcomes for /metrics
structured_logs.connect_celery_signals()  # the request id travels into tasks
worker_process_init.connect(_gc_freeze, weak=False)
