"""Soak server settings: production-like behaviour (DEBUG off, metrics cached one sweep)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import FOLLOWUP_SWEEP_SECONDS
from config.structured_logs import logging_config

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
METRICS_CACHE_SECONDS = FOLLOWUP_SWEEP_SECONDS
# Warnings only, but the one JSON line per request that production writes is kept:
# its duration_ms is the time spent inside the server, which soak.py sets beside
# what the clients waited (the difference is time queued for a free worker).
LOGGING = logging_config(json_lines=True, level="WARNING")
LOGGING["loggers"]["rapport.request"] = {"level": "INFO"}
AXES_ENABLED = False  # 60 logins a minute from one address are the load generator, not an attack
