"""Request bodies are bounded before they are read.

Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE only where it reads `request.body`
or a form itself; DRF's parsers read `request.stream`, so an endpoint taking a
raw body (e-mail, CDR, Twilio) read all of a 200 MB request into memory before
any check. This middleware runs first and answers 413 (JSON) before the body
is touched:

- with a `Content-Length` above the path's limit, at once, reading nothing;
- without one (`Transfer-Encoding: chunked`, which gunicorn passes on as a
  terminated `wsgi.input`), while streaming: at most limit + 1 bytes are read,
  and a body within the limit is handed on as if it had had a length.

Limits: `REQUEST_BODY_LIMITS` maps the raw-body endpoints' URL names to bytes;
forms and JSON elsewhere keep Django's DATA_UPLOAD_MAX_MEMORY_SIZE checks.
"""

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from django.urls import NoReverseMatch, reverse

READ_CHUNK = 64 * 1024


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {
            "code": "request_too_large",
            "detail": f"The request body exceeds {limit} bytes.",
            "errors": {},
        },
        status=413,
        headers={"Connection": "close"},
    )


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._limits: dict[str, int] | None = None

    def _limit_for(self, path: str) -> int | None:
        if self._limits is None:
            limits = {}
            for url_name, limit in settings.REQUEST_BODY_LIMITS.items():
                try:
                    limits[reverse(url_name)] = limit
                except NoReverseMatch:
                    continue  # an app not installed
            self._limits = limits
        return self._limits.get(path)

    def __call__(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)
        limit = self._limit_for(request.path)
        if limit is None:
            return self.get_response(request)  # forms and JSON: Django's own limit
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        if raw_length.strip():
            try:
                length = int(raw_length)
            except ValueError:
                length = -1
            if length > limit:
                return _too_large(limit)
            return self.get_response(request)
        environ = getattr(request, "environ", {})
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and environ.get(
            "wsgi.input_terminated"
        ):
            body = self._read_bounded(environ["wsgi.input"], limit)
            if body is None:
                return _too_large(limit)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
        return self.get_response(request)

    @staticmethod
    def _read_bounded(stream, limit: int) -> bytes | None:  # noqa: ANN001 - a file-like
        """The whole body, or None as soon as it passes `limit` bytes."""
        parts: list[bytes] = []
        size = 0
        while chunk := stream.read(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                return None
            parts.append(chunk)
        return b"".join(parts)
