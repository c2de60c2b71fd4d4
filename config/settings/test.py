"""Settings for pytest: real PostgreSQL and Redis, given by `make test`."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY", default="test-only-not-secret-rapport")  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Reliability tests point worker processes at a real SMTP server on loopback.
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# Supervisors' metrics are reused for one sweep interval in production
# (reporting.metrics_selectors); tests compute them every time so one test's
# figures never leak into another's. tests/board tests the cache itself.
METRICS_CACHE_SECONDS = 0
