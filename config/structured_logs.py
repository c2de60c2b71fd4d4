"""JSON log lines that carry who and which request, and nothing personal.

Library: python-json-logger. Everything in Rapport, Django, Celery and
gunicorn already logs through the standard `logging` module; a JSON
*formatter* turns every one of those lines into one JSON object without
changing a single call site. structlog (and django-structlog on top of it)
would bring a second logging API, its own processors and middleware, and
still need that same bridge for the library loggers; django-structlog's
request events also log the client's address and user agent, which we do
not want. What the issue asks beyond the format — a request id on every
line, carried into Celery tasks, the user or API client — is three small
pieces here:

- `RequestContextMiddleware` gives each request an id (the proxy's
  `X-Request-ID` when it is a sane token, else a new one), answers it in the
  same header, and writes one `request finished` line per request with the
  route *pattern* (`api/v1/customers/<int:pk>/`), never the path or query
  string (`lookup/?phone=...` is personal data), status and duration;
- `ContextFilter` stamps `request_id`, `user_id`, `api_client_id`, `task_id`
  and `task` on every record, from a context variable;
- Celery signals copy the request id into the headers of every task
  published while handling a request (or a task: the sweep's deliveries carry
  the sweep's id) and restore it in the worker around the task.

No personal data: lines name users and API clients by id, customers and
notifications by id; the access log of gunicorn is off (it would print query
strings), and SMTP errors are logged by class and code, not their text
(which can quote the recipient's address).
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar

logger = logging.getLogger("rapport.request")

_context: ContextVar[dict | None] = ContextVar("rapport_log_context", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "rapport_request_id"
# A proxy's id is kept when it looks like one (no spaces, quotes or newlines to
# forge log lines with), else replaced.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
FIELDS = ("request_id", "user_id", "api_client_id", "task_id", "task")


def current_request_id() -> str | None:
    context = _context.get()
    return context.get("request_id") if context else None


class ContextFilter(logging.Filter):
    """Adds the request/task context to every record (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        request = context.get("request")
        if request is not None:
            _identify(context, request)
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        return True


def _identify(context: dict, request) -> None:
    """User and API client ids, once authentication has run (never forces it)."""
    client = getattr(request, "auth", None)
    if client is not None and context.get("api_client_id") is None:
        context["api_client_id"] = getattr(client, "pk", None)
    user = request.__dict__.get("user")
    if user is None:
        return
    wrapped = getattr(user, "_wrapped", user)
    from django.utils.functional import empty

    if wrapped is empty:  # the session user is not loaded yet: do not load it from a log call
        return
    if getattr(wrapped, "is_authenticated", False):
        context["user_id"] = wrapped.pk


class RequestContextMiddleware:
    """Near the top of MIDDLEWARE, after the metrics middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        context = {"request_id": request_id, "request": request}
        token = _context.set(context)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            logger.info(
                "request finished",
                extra={
                    "method": request.method,
                    "route": (match.route or match.view_name) if match else "<unmatched>",
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            _context.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """The session user is known before the view runs: every line of the view
        carries it. Loading it here costs nothing the view would not spend (the
        user is cached on the request), and no query without a session cookie."""
        user = getattr(request, "user", None)
        context = _context.get()
        if context is not None and user is not None and user.is_authenticated:
            context["user_id"] = user.pk


# --- Celery ---------------------------------------------------------------------------


def _task_published(headers=None, **kwargs) -> None:
    request_id = current_request_id()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


_task_tokens: dict = {}


def _task_started(task_id=None, task=None, **kwargs) -> None:
    request_id = getattr(getattr(task, "request", None), TASK_HEADER, None)
    token = _context.set(
        {
            "request_id": request_id or task_id,
            "task_id": task_id,
            "task": getattr(task, "name", None),
        }
    )
    _task_tokens[task_id] = token


def _task_finished(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (a thread pool): just clear
            _context.set(None)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_task_published, weak=False, dispatch_uid="rapport-log-publish")
    task_prerun.connect(_task_started, weak=False, dispatch_uid="rapport-log-prerun")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="rapport-log-postrun")


# --- settings.LOGGING ---------------------------------------------------------------


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message, the context fields
    and any `extra=` a call passes."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def logging_config(*, json_lines: bool, level: str) -> dict:
    """The LOGGING dict: JSON lines (production) or readable text (`make run`)."""
    if json_lines:
        formatter = {"()": "config.structured_logs.json_formatter"}
    else:
        formatter = {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.structured_logs.ContextFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["context"],
                "formatter": "main",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # One line per request comes from rapport.request; Django's own
            # "Not Found: /path" lines would repeat it with the raw path.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
            # axes writes a line with the username and address for every login;
            # lockouts and repeated failures (warnings) are kept.
            "axes": {"level": "WARNING"},
            # httpx logs every request at INFO, urllib3 every connection at DEBUG:
            # webhook sends would flood the log.
            "httpx": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
        },
    }
