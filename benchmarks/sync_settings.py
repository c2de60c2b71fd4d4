"""Benchmark server settings: production-like (DEBUG off), the bench URLs on top.

`BENCH_DB_OPTIONS` (JSON) adds database OPTIONS for a measurement, e.g.
`{"server_side_binding": true}` (psycopg prepares a statement run
`prepare_threshold` times, default 5) or `{"pool": true}` (Django's connection
pool; needs psycopg-pool and no persistent connections).
"""

import json
import os

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "benchmarks.sync_app"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

_OPTIONS = json.loads(os.environ.get("BENCH_DB_OPTIONS") or "{}")
if _OPTIONS:
    DATABASES["default"].setdefault("OPTIONS", {}).update(_OPTIONS)  # noqa: F405
    if _OPTIONS.get("pool"):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405 - a pool replaces persistent connections
