"""`Idempotency-Key` for single creates (Stripe; IETF draft-ietf-httpapi-idempotency-key-header).

- Keys are up to 255 characters, scoped to the API client (or the session user).
- The same key and body within IDEMPOTENCY_TTL return the first response
  (status and body, errors included) with `Idempotent-Replayed: true`.
- The same key with another method, path or body gets 422.
- Two concurrent requests with one key run the work once: the record row is
  inserted before the work, in the same transaction, so the second request
  blocks on the unique index until the first commits and then replays it. A
  5xx (an exception) rolls the row back, so a retry runs the work again.

Use `IdempotentCreateMixin` on a DRF (Generic)ViewSet / CreateAPIView, or
`@idempotent` on an APIView's `post`.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.authentication import api_client_of
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
IDEMPOTENCY_TTL = timedelta(hours=24)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters, unique per intended create. The same key and body within "
        "24 h return the first response (with `Idempotent-Replayed: true`); the same key "
        "with another body gets 422."
    ),
)


def _scope(request: Request) -> str | None:
    client = api_client_of(request)
    if client is not None:
        return f"client:{client.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _fingerprint(request: Request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict: keep repeated keys
        data = {key: values for key, values in data.lists()}
    body = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    text = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _error(code: str, detail: str, status_code: int) -> Response:
    return Response(
        {"code": code, "detail": detail, "errors": {HEADER: [detail]}}, status=status_code
    )


def run_idempotent(view, request: Request, work: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    scope = _scope(request)
    if key is None or scope is None:
        return work()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        return _error(
            "invalid_idempotency_key",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters, not only blanks.",
            status.HTTP_400_BAD_REQUEST,
        )
    fingerprint = _fingerprint(request)
    now = timezone.now()
    with transaction.atomic():
        # Blocks while another transaction holds an uncommitted row for this key.
        IdempotencyRecord.objects.bulk_create(
            [IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint, created_at=now)],
            ignore_conflicts=True,
        )
        record = IdempotencyRecord.objects.select_for_update().get(scope=scope, key=key)
        # Committed rows always hold a response, so an empty one is the row just inserted.
        is_ours = record.response_status is None
        if not is_ours and record.created_at < now - IDEMPOTENCY_TTL:
            record.fingerprint, record.created_at = fingerprint, now
            is_ours = True
        if not is_ours:
            if record.fingerprint != fingerprint:
                return _error(
                    "idempotency_key_reused",
                    f"This {HEADER} was used with a different request.",
                    status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            return Response(
                record.response_body,
                status=record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = work()
        except Exception as exc:  # noqa: BLE001 - DRF turns API errors into responses
            response = view.handle_exception(exc)  # re-raises what would be a 500
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        record.response_status = response.status_code
        record.response_body = json.loads(json.dumps(response.data, cls=JSONEncoder))
        record.save(update_fields=["fingerprint", "created_at", "response_status", "response_body"])
        return response


class IdempotentCreateMixin:
    """Makes an inherited `create` honour Idempotency-Key. Put it before the DRF mixins.

    A view that defines its own `create` uses `@idempotent` on it instead.
    """

    @extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])
    def create(self, request, *args, **kwargs):
        parent = super().create
        return run_idempotent(self, request, lambda: parent(request, *args, **kwargs))


def idempotent(method: Callable) -> Callable:
    """Decorator for a view handler (`post`, or a viewset's `create`).

    Put it closest to the function (below `@extend_schema`): it documents the header.
    """

    @functools.wraps(method)
    def wrapper(self, request, *args, **kwargs):
        return run_idempotent(self, request, lambda: method(self, request, *args, **kwargs))

    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)


def idempotency_records_purge(*, older_than: timedelta = IDEMPOTENCY_TTL) -> int:
    """Delete expired records (run from a periodic task or cron)."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
