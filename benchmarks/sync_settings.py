"""Benchmark server settings: production-like (DEBUG off), the bench URLs on top."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "benchmarks.sync_app"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
