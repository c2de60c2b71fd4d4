"""Small security pieces the settings name: a CSP header and the axes login backend.

Django 5.2 has no built-in Content-Security-Policy (6.0 adds one); this
middleware sets the header from `CONTENT_SECURITY_POLICY`, a dict of
directive -> list of sources, so the policy lives in settings beside the other
hardening. Rapport serves its own scripts and styles (htmx is vendored), so
the policy is 'self' only; a page that needs more should say so in settings.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend


def csp_header_value(policy: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{directive} {' '.join(sources)}".strip() for directive, sources in policy.items()
    )


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy (or -Report-Only) unless the view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        self.value = csp_header_value(policy)
        self.header = (
            "Content-Security-Policy-Report-Only"
            if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.value and self.header not in response:
            response[self.header] = self.value
        return response


class LoginLockoutBackend(AxesStandaloneBackend, ModelBackend):
    """axes' AxesBackend, except that a call without a request is not an error.

    Every login form (the login view, the admin) passes the request, so
    lockout applies there. Code that authenticates without a request (Django's
    test Client.login, a management command) has no client to lock out; the
    stock backend raises ValueError there, which would break such callers.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class RejectNulInQueryMiddleware:
    """A NUL byte in a query parameter is never meaningful and PostgreSQL text
    cannot hold one: answer 400 naming the parameter instead of failing deep in
    a filter with a 500. Bodies are left to their parsers (form and JSON
    fields are validated per field there)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = sorted(
            {
                key.replace("\x00", "\\x00")
                for key, values in request.GET.lists()
                if "\x00" in key or any("\x00" in value for value in values)
            }
        )
        if bad:
            from django.http import JsonResponse

            return JsonResponse(
                {
                    "code": "invalid",
                    "detail": "Invalid input in: " + ", ".join(bad) + ".",
                    "errors": {name: ["NUL bytes are not allowed."] for name in bad},
                },
                status=400,
            )
        return self.get_response(request)
