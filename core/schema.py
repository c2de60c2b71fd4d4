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

Statuses an operation documents itself keep their description; a 4xx documented
without a body (a 409 on an action a resource's state can refuse) gets the
error body.

Request bodies say what the API refuses: a serializer with
`RejectUnknownFieldsMixin` (unknown fields are a 400) gets
`additionalProperties: false`, and one with `request_schema_constraints`
(a dict) adds those keywords, for rules across fields JSON Schema can state
(exactly one of two fields: `minProperties` / `maxProperties`). A view reading
a raw body it cannot do without (a CSV, an e-mail) says
`request_body_required = True` (a viewset: the set of such actions).
"""

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from core.errors import ErrorSerializer
from core.query import MAX_ID
from core.serializer_fields import PrototypeFieldsMixin, RejectUnknownFieldsMixin

# Parameter schemas (OpenApiParameter's type) for what the API checks of a query value.
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NON_BLANK = {"type": "string", "minLength": 1, "pattern": r"\S"}
NON_EMPTY_FILE = {"type": "string", "format": "binary", "minLength": 1}

_MIXIN_DOCS = {get_doc(mixin) for mixin in (RejectUnknownFieldsMixin, PrototypeFieldsMixin)}

_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each offending field or parameter.",
    "401": "No or unknown credentials (`Authorization: Bearer <secret>` or a session).",
    "403": "Authenticated, but the role or the API client's scopes do not allow this.",
    "404": "No such resource (or, on a list, a page number past the last page).",
    "409": "The resource's current state refuses this (a promise already done or cancelled).",
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
        if "requestBody" in operation and self._body_is_required():
            operation["requestBody"]["required"] = True  # a raw body (drf-spectacular: optional)
        responses = operation.setdefault("responses", {})
        documented = [code for code in responses if code.startswith("4")]
        for code in sorted({*self._error_statuses(operation), *documented}):
            existing = responses.get(code)
            if existing is not None and existing.get("content"):
                continue
            response = self._get_response_for_code(ErrorSerializer, code)
            if existing is not None and existing.get("description"):
                response["description"] = existing["description"]
            else:
                response["description"] = _DESCRIPTIONS.get(code, "Refused; `errors` says why.")
            responses[code] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _body_is_required(self) -> bool:
        required = getattr(self.view, "request_body_required", False)
        if isinstance(required, set):  # a viewset's actions
            return getattr(self.view, "action", None) in required
        return bool(required)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and not {"format", "pattern", "enum"} & set(schema)
        ):
            # DRF trims the value first: blanks alone are "may not be blank".
            schema["pattern"] = r"\S"
        return schema

    def _postprocess_serializer_schema(self, schema, serializer, direction):
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if schema.get("description") in _MIXIN_DOCS:
            del schema["description"]  # how a serializer is built, not what it holds
        properties = schema.get("properties", {})
        for name, field in serializer.fields.items():
            if isinstance(field, serializers.ListSerializer) and name in properties:
                # drf-spectacular leaves out a nested list's bounds (DRF checks them).
                if field.min_length is not None:
                    properties[name]["minItems"] = field.min_length
                if field.max_length is not None:
                    properties[name]["maxItems"] = field.max_length
        if direction == "request":
            if isinstance(serializer, RejectUnknownFieldsMixin):
                schema["additionalProperties"] = False
            schema.update(getattr(serializer, "request_schema_constraints", {}))
        return schema

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


_METHODS = ("get", "put", "patch", "post", "delete")


def link_created_resources(result, generator, request, public):
    """drf-spectacular postprocessing hook: a create's 201 links (OpenAPI `links`) to
    each operation on what it created, the new row's `id` filling the path parameter
    that follows the collection's path and the request's own path parameters carried
    over: POST customers/ -> GET customers/{id}/, POST customers/{customer_pk}/facts/;
    POST customers/{customer_pk}/facts/ -> DELETE customers/{customer_pk}/facts/{id}/.
    A client (and schemathesis' stateful phase) follows them from a create on."""
    paths = result.get("paths", {})
    for path, operations in paths.items():
        create = operations.get("post", {}).get("responses", {}).get("201")
        if create is None:
            continue
        links = {}
        for other_path, others in paths.items():
            rest = other_path[len(path) :] if other_path.startswith(path) else ""
            new = re.fullmatch(r"\{(\w+)\}/[^{}]*", rest)
            if new is None:
                continue
            for method in _METHODS:
                operation = others.get(method)
                if operation is None:
                    continue
                parameters = {
                    parameter["name"]: f"$request.path.{parameter['name']}"
                    for parameter in operation.get("parameters", [])
                    if parameter["in"] == "path"
                }
                parameters[new.group(1)] = "$response.body#/id"
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                }
        if links:
            create["links"] = links
    return result
