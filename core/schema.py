"""The OpenAPI schema tells every status an operation can answer, with its body.

`ApiAutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds the error
answers DRF and this API's plumbing give, each with the one error shape
`{"code", "detail", "errors"}` (component `Error`, core.errors):

- 400 when the operation takes a body or query parameters (validation),
- 401 and 403 when it needs a caller (no or bad credentials; role or scope),
- 404 when its path names a resource, or a page number can run past the end,
- 413 and 415 when it takes a body (too large; a content type it does not read),
- 422 when it honours `Idempotency-Key` (the key reused with another body),
- 429 when API clients are rate-limited on it.

Statuses an operation documents itself keep their description; one documented
without a body gets the error body.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from core.errors import ErrorSerializer

_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each offending field or parameter.",
    "401": "No or unknown credentials (`Authorization: Bearer <secret>` or a session).",
    "403": "Authenticated, but the role or the API client's scopes do not allow this.",
    "404": "No such resource (or, on a list, a page number past the last page).",
    "413": "The request body is too large.",
    "415": "A request content type this operation does not read.",
    "422": "The `Idempotency-Key` was used before with a different request.",
    "429": "The API client's rate limit is exceeded; retry after `Retry-After` seconds.",
}


class ApiAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_statuses(operation):
            existing = responses.get(code)
            if existing is not None and existing.get("content"):
                continue
            response = self._get_response_for_code(ErrorSerializer, code)
            if existing is not None and existing.get("description"):
                response["description"] = existing["description"]
            else:
                response["description"] = _DESCRIPTIONS[code]
            responses[code] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        has_query = any(p.get("in") == "query" for p in parameters)
        has_path = any(p.get("in") == "path" for p in parameters)
        codes = []
        if has_body or has_query:
            codes.append("400")
        if not all(issubclass(p, AllowAny) for p in self.view.permission_classes):
            codes += ["401", "403"]
        if has_path or any(p.get("name") == "page" for p in parameters):
            codes.append("404")
        if has_body:
            codes += ["413", "415"]
        if any(p.get("name") == "Idempotency-Key" for p in parameters):
            codes.append("422")
        if self.view.throttle_classes:
            codes.append("429")
        return codes
