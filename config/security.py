"""Small security pieces the settings name: a CSP header, the axes login backend and handler.

Django 5.2 has no built-in Content-Security-Policy (6.0 adds one); this
middleware sets the header from `CONTENT_SECURITY_POLICY`, a dict of
directive -> list of sources, so the policy lives in settings beside the other
hardening. Rapport serves its own scripts and styles (htmx is vendored), so
the policy is 'self' only; a page that needs more should say so in settings.
"""

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import Sum


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


class LoginLockoutHandler(AxesDatabaseHandler):
    """axes' database handler, counting failures per address across usernames too.

    AXES_LOCKOUT_PARAMETERS lists `["username", "ip_address"]` and then
    `"ip_address"`. The pair locks after AXES_FAILURE_LIMIT failures; the address
    alone after AXES_IP_FAILURE_LIMIT (higher: an office behind one NAT shares an
    address), so one guesser spreading passwords over many usernames is stopped.
    axes compares one limit to the largest count, so the address's count is
    scaled to it. A successful login resets only its own username's failures:
    an insider logging in as themselves must not wipe the address's count.
    """

    def _address_indexes(self, request, credentials) -> set[int]:
        parameters = get_lockout_parameters(request, credentials)
        return {i for i, parameter in enumerate(parameters) if parameter == "ip_address"}

    def get_failures(self, request, credentials=None) -> int:
        addresses = self._address_indexes(request, credentials)
        limit = get_failure_limit(request, credentials)
        counts = []
        for index, attempts in enumerate(self.get_user_attempts(request, credentials)):
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if index in addresses:
                count = count * limit // settings.AXES_IP_FAILURE_LIMIT
            counts.append(count)
        return max(counts, default=0)

    def reset_user_attempts(self, request, credentials=None) -> int:
        addresses = self._address_indexes(request, credentials)
        count = 0
        for index, attempts in enumerate(self.filter_user_attempts(request, credentials)):
            if index not in addresses:
                count += attempts.delete()[0]
        return count


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
