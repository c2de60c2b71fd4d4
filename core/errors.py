"""One error shape for the whole API: {"code", "detail", "errors"}.

`errors` maps each offending field to its messages so clients can point at it.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer (component `Error` in the schema)."""

    code = serializers.CharField(
        help_text="Machine-readable: invalid, not_found, permission_denied, throttled, ..."
    )
    detail = serializers.CharField(help_text="For humans.")
    errors = serializers.DictField(
        help_text="Offending field (or header, or list index) -> its messages; "
        "nested objects for nested fields. Empty when no field is at fault."
    )


class Conflict(DjangoValidationError):
    """A valid request the resource's current state refuses (completing a promise that is
    already done): the API answers 409 Conflict, naming the field as a 400 would. A
    Django ValidationError still, so pages that show validation errors show it too."""


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {str(key): value for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # Over DATA_UPLOAD_MAX_MEMORY_SIZE: JSON like every other API error, not Django's HTML 400.
        return error_response(
            code="request_too_large",
            detail=str(exc),
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DataError):
        # Last line of defence: a value the database cannot store (a NUL byte,
        # a number out of range) that no field check caught is bad input, not a
        # server fault. Fields should catch it first and name themselves.
        return error_response(
            code="invalid",
            detail="A value in the request cannot be stored: " + str(exc).splitlines()[0],
        )
    if isinstance(exc, Conflict):
        errors = _field_errors(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return error_response(
            code="conflict",
            detail=" ".join(str(message) for messages in errors.values() for message in messages),
            errors=errors,
            status_code=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        fields = [name for name in errors if name != "non_field_errors"]
        detail = "Invalid input in: " + ", ".join(fields) + "." if fields else "Invalid input."
        response.data = {"code": "invalid", "detail": detail, "errors": errors}
    else:
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            if isinstance(codes, str):
                code = codes
        detail = (
            response.data.get("detail", str(exc)) if isinstance(response.data, dict) else str(exc)
        )
        response.data = {"code": code, "detail": str(detail), "errors": {}}
    return response


def error_response(
    *,
    code: str,
    detail: str,
    errors: dict | None = None,
    status_code: int = status.HTTP_400_BAD_REQUEST,
) -> Response:
    return Response({"code": code, "detail": detail, "errors": errors or {}}, status=status_code)


def not_found(request, exception=None):
    """handler404: a URL under /api/ that matches no route answers in the API's error shape
    (an id the route's pattern refuses, `-1`, never reaches a view)."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found.", "errors": {}}, status=404)
    return page_not_found(request, exception)
