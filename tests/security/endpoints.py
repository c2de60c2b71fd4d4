"""Discover every URL the project serves, with the HTTP methods its view answers.

The permission matrix test checks each discovered (method, route) against an
entry in access_matrix.py, so a new endpoint without an entry fails the suite.
Routes are written as templates: `/api/v1/customers/{pk}/export/`.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Django's admin has its own permission system (is_staff + model perms),
# checked by its own tests and test_audit's read-only checks.
EXCLUDED_PREFIXES = ("/admin/",)
STANDARD_METHODS = ("get", "post", "put", "patch", "delete")

_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True, order=True)
class Endpoint:
    route: str
    method: str
    view: str

    def __str__(self) -> str:
        return f"{self.method} {self.route} ({self.view})"


def _route_text(pattern) -> str:
    text = str(pattern.pattern)
    text = _NAMED_GROUP.sub(lambda m: "{" + m.group(1) + "}", text)
    text = _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", text)
    return text.replace("^", "").replace("$", "").replace("\\", "")


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF ViewSet bound by a router: method -> action
        return sorted(method.upper() for method in actions if method in STANDARD_METHODS)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return sorted(
            method.upper()
            for method in STANDARD_METHODS
            if method in getattr(view_class, "http_method_names", STANDARD_METHODS)
            and hasattr(view_class, method)
        )
    declared = _declared_methods(callback)
    if declared is not None:
        return declared
    # A function view without require_http_methods may answer anything: both
    # GET and POST are checked, so a form posting to it is not missed.
    return ["GET", "POST"]


def _declared_methods(callback) -> list[str] | None:
    """The list given to require_http_methods / require_GET / require_POST, if any.

    Those decorators keep the list in their closure; login_required and
    friends keep the wrapped view in `__wrapped__`, so walk down the chain.
    """
    func = callback
    while func is not None:
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if (
                isinstance(value, list | tuple | set | frozenset)
                and value
                and all(
                    isinstance(item, str) and item.lower() in (*STANDARD_METHODS, "head")
                    for item in value
                )
            ):
                return sorted({item.upper() for item in value if item.lower() in STANDARD_METHODS})
        func = getattr(func, "__wrapped__", None)
    return None


def _view_name(callback) -> str:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    target = view_class or callback
    return f"{target.__module__}.{target.__qualname__}"


def _walk(patterns, prefix: str):
    for pattern in patterns:
        route = prefix + _route_text(pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            if "{format}" in route:  # DRF's .json suffix twins of real routes
                continue
            yield route, pattern.callback


def discover_endpoints() -> list[Endpoint]:
    found: set[Endpoint] = set()
    for route, callback in _walk(get_resolver().url_patterns, "/"):
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        for method in _methods(callback):
            found.add(Endpoint(route=route, method=method, view=_view_name(callback)))
    return sorted(found)
