"""Settings shared by every environment; values come from the environment.

Names of the variables are part of the public contract (DESIGN.md).
See https://django-environ.readthedocs.io/ for the URL formats.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.structured_logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)  # the embedded PostgreSQL (make run) and test services live here

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "config.admin_site.RapportAdminConfig",  # django.contrib.admin, titled Rapport
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc served from our own static files
    "django_celery_beat",
    "axes",  # login throttling and lockout (H6)
    "core",
    "crm",
    "interactions",
    "followups",
    "reporting",
    "privacy",
    "spreadsheets",
]

MIDDLEWARE = [
    # First: times the whole answer, by route and status (config/metrics.py).
    "config.metrics.RequestMetricsMiddleware",
    # A request id on every log line of the request, and into its Celery tasks.
    "config.structured_logs.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a body: 413 for an oversized one (config/body_limits.py).
    "config.body_limits.RequestBodyLimitMiddleware",
    "config.security.RejectNulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's clock for every page (issue 14).
    "crm.middleware.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    # Last, as axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    },
]

# PostgreSQL everywhere. Default: the embedded server `make run` starts
# (scripts/embedded_db.py), listening on a unix socket in var/postgres.
EMBEDDED_DATABASE_URL = f"postgres://postgres@/rapport?host={VAR_DIR / 'postgres'}"
DATABASES = {"default": env.db_url("DATABASE_URL", default=EMBEDDED_DATABASE_URL)}
# django-environ leaves `?host=/socket/folder` in OPTIONS; HOST is where Django
# (and tests/processes.py) look for it.
_socket = DATABASES["default"].get("OPTIONS", {}).pop("host", None)
if _socket:
    DATABASES["default"]["HOST"] = _socket
    DATABASES["default"]["PORT"] = DATABASES["default"]["OPTIONS"].pop("port", "") or ""
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's backend, loading out-of-range timestamps clamped instead of failing
# (see config/postgresql/base.py and crm/time_window.py).
DATABASES["default"]["ENGINE"] = "config.postgresql"

# Reporting reads (board, metrics, exports) may go to a streaming replica; writes and
# the sweep stay on the primary (core.db_routing). Unset: one server does everything.
DATABASE_ROUTERS = ["core.db_routing.PrimaryReplicaRouter"]
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db_url("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"].get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
    if DATABASES["replica"]["ENGINE"].startswith("django.db.backends.postgresql"):
        # Reporting reads survive an out-of-range row too (config/postgresql).
        DATABASES["replica"]["ENGINE"] = "config.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Security (H6) ------------------------------------------------------------
# Login throttling and lockout: django-axes counts failures per username and
# address in the database (atomic, survives restarts) and answers 429 while
# locked. https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "config.security.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Username and address together: a typo-prone colleague behind the office NAT
# does not lock everyone out, and a guesser cannot lock a rep out from elsewhere.
# Also the address alone, across usernames, with a higher limit (the office NAT
# again): one guesser spreading passwords over many users is locked out too.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=20)
AXES_HANDLER = "config.security.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password"]
# Number of trusted reverse proxies in front of the app (X-Forwarded-For hops).
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0) or None

# Request size limits: a form or JSON body above 5 MB is refused (400; the API
# answers 413 JSON, core/errors.py), and so
# are absurd numbers of fields. The batch sync endpoint's largest sane batch
# fits well below. https://docs.djangoproject.com/en/5.2/ref/settings/#data-upload-max-memory-size
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
DATA_UPLOAD_MAX_NUMBER_FILES = 20
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Endpoints that take a raw body, by URL name: refused with 413 above this many
# bytes before the body is read (config/body_limits.py); forms and JSON keep
# DATA_UPLOAD_MAX_MEMORY_SIZE.
EMAIL_INGEST_MAX_BYTES = env.int("EMAIL_INGEST_MAX_BYTES", default=25 * 1024 * 1024)
REQUEST_BODY_LIMITS = {
    "interactions-email": EMAIL_INGEST_MAX_BYTES,
    "integrations-asterisk-cdr": 5 * 1024 * 1024,  # interactions.sync_api.MAX_CDR_BYTES
    "integrations-twilio-voice": 64 * 1024,  # a status callback is a few hundred bytes
}

# Cookies and headers that are right in every environment; production.py adds
# the HTTPS-only ones.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Pages hand the token to htmx in a header (templates/base.html); no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)  # one working day
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (config.security.ContentSecurityPolicyMiddleware).
# Everything is served from this origin, with no third-party origin: htmx is
# vendored and the API docs' Swagger UI comes from drf-spectacular-sidecar's
# static files (SPECTACULAR_SETTINGS["SWAGGER_UI_DIST"] = "SIDECAR").
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    # Inline styles allowed: htmx and Swagger UI set style attributes; scripts stay strict.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CONTENT_SECURITY_POLICY_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)

# Default region for phone numbers written without a country prefix.
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="US")

# --- Interactions (H2) ----------------------------------------------------------
# Apps above `interactions` that add fields to the rep's log form, as dotted
# paths to classes implementing interactions.hooks.InteractionFormExtension.
INTERACTION_FORM_EXTENSIONS: list[str] = ["followups.forms.PromiseFollowUpExtension"]
# Called by crm.services.customer_merge, in its transaction, with (source_id, target_id,
# moved: {"<app>.<model>.<field>": [ids]}): apps above crm follow a merge without crm
# importing them (the interactions it moved are updated events, interactions/events.py).
CUSTOMER_MERGE_HOOKS: list[str] = ["interactions.events.customer_merged"]
# A new contact by the same customer in the same category within this many days
# of an open matter's last contact joins that matter as a repeat contact.
INTERACTION_MATTER_WINDOW_DAYS = env.int("INTERACTION_MATTER_WINDOW_DAYS", default=7)
# occurred_at may be this far in the future (clock skew of phone systems).
INTERACTION_FUTURE_TOLERANCE_MINUTES = env.int("INTERACTION_FUTURE_TOLERANCE_MINUTES", default=10)
# The time window every incoming timestamp must fall in is defined in
# crm/time_window.py; follow-ups may be due at most this many years ahead.
FOLLOWUP_DUE_MAX_YEARS = env.int("FOLLOWUP_DUE_MAX_YEARS", default=5)
# Call recording links must be https:; set to accept http: too (an on-premises PBX).
RECORDING_URL_ALLOW_HTTP = env.bool("RECORDING_URL_ALLOW_HTTP", default=False)
# How long a feedback (CSAT) link stays valid.
INTERACTION_FEEDBACK_MAX_AGE_DAYS = env.int("INTERACTION_FEEDBACK_MAX_AGE_DAYS", default=14)

# Slots on the customer page (/customers/<id>/) that other apps fill with an
# htmx fragment: each is loaded from reverse(url_name, args=[customer.pk]).
# A url_name that does not resolve (app not installed) is skipped.
CUSTOMER_PAGE_PANELS = [
    {"title": "Log an interaction", "url_name": "interactions:customer-log-form"},
    {"title": "Open promises", "url_name": "followups:customer-promises"},
    {"title": "Timeline", "url_name": "interactions:customer-timeline"},
]

# --- Celery -----------------------------------------------------------------
# Production: Redis. Without REDIS_URL (make run): kombu's SQLAlchemy transport
# on the same PostgreSQL, a transactional queue that needs no other server;
# config/demo_broker.py says why it replaced the file-system transport.
# https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.sqlalchemy.html
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Tasks are short; a lost worker's message comes back after this.
        "visibility_timeout": 3600,
    }
else:
    try:  # SQLAlchemy is in requirements-dev.txt: only the demo needs it
        from sqlalchemy.engine import URL
    except ImportError as exc:
        raise ImproperlyConfigured(
            "Set REDIS_URL (production), or install requirements-dev.txt for the demo broker."
        ) from exc

    _db = DATABASES["default"]
    _on_socket = str(_db["HOST"]).startswith("/")
    CELERY_BROKER_TRANSPORT = "config.demo_broker:Transport"
    # SQLAlchemy's URL of the same database ("postgresql": psycopg 3 in SQLAlchemy 2.1).
    CELERY_BROKER_URL = URL.create(
        "postgresql",
        username=_db["USER"] or "postgres",
        password=_db["PASSWORD"] or None,
        host=None if _on_socket else (_db["HOST"] or "127.0.0.1"),
        port=None if _on_socket else (_db["PORT"] or None),
        database=_db["NAME"],
        query={"host": _db["HOST"], **({"port": str(_db["PORT"])} if _db["PORT"] else {})}
        if _on_socket
        else {},
    ).render_as_string(hide_password=False)
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    # Remote control needs broadcast (fanout) delivery, which this transport
    # does not have; the demo does not use it.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"  # beat runs in UTC: no DST double/skip of the sweep.
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

FOLLOWUP_SWEEP_SECONDS = env.int("FOLLOWUP_SWEEP_SECONDS", default=60)
# The metrics refresh rests this long, relative to each chunk's time, between chunks
# (reporting.metrics_rollup._pause): 0 when PostgreSQL has cores of its own.
METRICS_REFRESH_PAUSE_RATIO = env.float("METRICS_REFRESH_PAUSE_RATIO", default=1.0)
# /readyz answers 503 when the oldest due transition waits longer than this
# (config/health.py); 0 turns the check off. Default: five sweep intervals,
# at least five minutes.
FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS = env.int(
    "FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS", default=max(5 * FOLLOWUP_SWEEP_SECONDS, 300)
)
# First retry delay of a refused notification e-mail; doubles each attempt (followups).
FOLLOWUP_EMAIL_RETRY_BASE_SECONDS = env.int("FOLLOWUP_EMAIL_RETRY_BASE_SECONDS", default=30)
# Webhooks (followups.webhooks): per-request timeout, retry back-off (doubling from
# the base, capped), and how many days of nothing but failures disable an endpoint.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600)
WEBHOOK_DISABLE_AFTER_DAYS = env.int("WEBHOOK_DISABLE_AFTER_DAYS", default=5)
WEBHOOK_SEND_SECONDS = env.int("WEBHOOK_SEND_SECONDS", default=5)
# POSTs a sender has in flight at once: a receiver's latency is waited for
# alongside the others' instead of in turn (benchmarks/webhooks.py --latency-ms 20:
# 44/s one at a time, 159/s with 4, 260/s with 8, on the shared 2-core box).
WEBHOOK_SEND_CONCURRENCY = env.int("WEBHOOK_SEND_CONCURRENCY", default=8)
# Days an uploaded customer file and its rows' details (the error report) are kept
# after the import's last change (spreadsheets.services.customer_imports_expire).
IMPORT_RETENTION_DAYS = env.int("IMPORT_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE = {
    "followups-webhooks-send": {
        "task": "followups.tasks.webhook_deliveries_send",
        "schedule": float(WEBHOOK_SEND_SECONDS),
        "options": {"expires": max(WEBHOOK_SEND_SECONDS - 1, 1)},
    },
    "followups-sweep": {
        "task": "followups.tasks.sweep",
        "schedule": float(FOLLOWUP_SWEEP_SECONDS),
        # A missed tick is worthless once the next one is due.
        "options": {"expires": max(FOLLOWUP_SWEEP_SECONDS - 1, 1)},
    },
    # The metrics page's rollups: at most one sweep interval behind (issue 7).
    "reporting-metrics-refresh": {
        "task": "reporting.tasks.metrics_refresh",
        "schedule": float(FOLLOWUP_SWEEP_SECONDS),
        "options": {"expires": max(FOLLOWUP_SWEEP_SECONDS - 1, 1)},
    },
    # Uploaded customer files and failed rows' cells are personal data (spreadsheets).
    "spreadsheets-imports-expire": {
        "task": "spreadsheets.tasks.customer_imports_expire",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # Idempotency-Key records only matter for 24 h (core.idempotency).
    "crm-idempotency-purge": {
        "task": "core.tasks.idempotency_records_purge_expired",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
}

# --- E-mail -----------------------------------------------------------------
# EMAIL_URL like smtp://user:pass@host:25 ; default writes mails to the console.
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Rapport <rapport@localhost>")

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # API clients: `Authorization: Bearer <secret>` (first, so a 401 names Bearer).
        "core.authentication.ApiClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Session users pass when logged in (roles are checked by crm.access); API
    # clients only where the view's `required_scopes` names one of their scopes.
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.ApiClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "core.renderers.ApiJSONRenderer",  # a lone surrogate echoed in an error is no 500
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bodies only (machine formats declare their own parsers: Twilio's form,
    # Asterisk's CSV, raw e-mail). The schema then names one request content type,
    # and a generated client never picks form or multipart encoding for a JSON body.
    # JSON nested past core.parsers.JSON_MAX_DEPTH is a 400, not a RecursionError 500.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.DepthLimitedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CappedPageNumberPagination",  # no full-table COUNT
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.ApiAutoSchema",  # documents every error status
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
}
# Per-API-client rate limit unless the client sets its own ("N/s|m|h|d").
API_CLIENT_DEFAULT_RATE = env("API_CLIENT_DEFAULT_RATE", default="6000/m")
# Fernet keys for secrets at rest (comma-separated, first encrypts); derived
# from SECRET_KEY when empty. https://cryptography.io/en/latest/fernet/
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[])
# Change feeds stop this far behind now so late-committing writes are not skipped.
CHANGE_FEED_LAG_SECONDS = env.int("CHANGE_FEED_LAG_SECONDS", default=5)
# The public base URL Twilio calls (scheme and host), when a proxy hides them;
# empty: rebuilt from the request. The signature covers the exact URL.
TWILIO_WEBHOOK_BASE_URL = env("TWILIO_WEBHOOK_BASE_URL", default="")

# Throttle counters and other shared state: Redis when REDIS_URL is set.
# https://docs.djangoproject.com/en/5.2/topics/cache/#redis
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable Redis fails fast (core.throttling then counts per
            # process) instead of holding a request for the OS connect timeout.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": "Customer interactions, profiles and follow-up promises.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page works offline and under a 'self'-only CSP: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A create's 201 links to the operations on what it created (core.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.link_created_resources",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SyncStatusEnum": ["created", "updated", "unchanged", "error"],
        "InteractionChannelEnum": "interactions.models.Interaction.Channel",
        "MatterStatusEnum": "interactions.models.Matter.Status",
        "ContactPointKindEnum": "crm.models.ContactPoint.Kind",
        "FollowUpStatusEnum": "followups.models.FollowUp.Status",
        # An endpoint's event_types and a delivery's event_type (docs/integrations.md).
        "WebhookEventTypeEnum": "followups.models.WEBHOOK_EVENT_TYPE_NAMES",
    },
}

# --- Observability (issue 17) ------------------------------------------------------
# /metrics (Prometheus): answered to `Authorization: Bearer <METRICS_TOKEN>` when
# set, or to these client networks (REMOTE_ADDR, i.e. the scraper talks to the
# process directly, not through the proxy). config/metrics.py
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])

# JSON lines with request id, user / API client id (config/structured_logs.py);
# LOG_JSON=false for readable text (the default of `make run`).
LOGGING = logging_config(
    json_lines=env.bool("LOG_JSON", default=True), level=env("LOG_LEVEL", default="INFO")
)
# The worker logs through the LOGGING above (JSON), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
