"""Soak server settings: production-like behaviour (DEBUG off, metrics cached one sweep)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import FOLLOWUP_SWEEP_SECONDS

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
METRICS_CACHE_SECONDS = FOLLOWUP_SWEEP_SECONDS
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
AXES_ENABLED = False  # 60 logins a minute from one address are the load generator, not an attack
