"""Production: secrets only from the environment, secure cookies.

Refuses to start with DEBUG on or without a real SECRET_KEY.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import MIDDLEWARE, SECRET_KEY, env

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production settings.")
if not SECRET_KEY or SECRET_KEY.startswith(("local-dev-only", "test-only")) or len(SECRET_KEY) < 40:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment to a random value of 40+ characters."
    )

# Static files from the application itself (WhiteNoise): hashed names,
# compressed copies and far-future cache headers, so no separate file server
# is needed. `collectstatic` runs on every deploy (Procfile.production: release).
# https://whitenoise.readthedocs.io/en/stable/django.html
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and the Prometheus scraper talk plain HTTP to the process itself (the
# TLS proxy is in front of browsers, not of them): no redirect for those paths.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Hardening (H6): `manage.py check --deploy` is clean with these. ---------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
# __Host- cookies: browser-enforced Secure, Path=/ and no Domain, so a sibling
# subdomain cannot plant or overwrite them.
SESSION_COOKIE_NAME = "__Host-rapport_session"
CSRF_COOKIE_NAME = "__Host-rapport_csrf"
# Behind a TLS-terminating proxy the browser's Origin is https://<host>.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Errors to Sentry, when SENTRY_DSN is set (issue 17) -------------------------
# Django and Celery integrations are enabled automatically. No personal data:
# no user e-mail or address, no request bodies. https://docs.sentry.io/platforms/python/
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        environment=env("SENTRY_ENVIRONMENT", default="production"),
    )
