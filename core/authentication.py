"""`Authorization: Bearer <secret>` for API clients (DESIGN: public contract).

One indexed query (fixed SQL, core.fixed_reads) finds the client and its user
by the secret's prefix; the digest is compared in constant time. `last_used_at`
is written at most once a minute per client so a busy client does not turn
every read into a write.
"""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from core.models import ApiClient
from core.selectors import api_client_by_prefix
from core.services import secret_matches, secret_split

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClientAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None  # e.g. Basic: not ours, let another class try
        secret = secret.strip()
        parts = secret_split(secret)
        if parts is None:
            raise exceptions.AuthenticationFailed("Malformed API secret.")
        prefix, _ = parts
        client = api_client_by_prefix(prefix=prefix)
        if client is None or not secret_matches(client, secret):
            raise exceptions.AuthenticationFailed("Invalid API secret.")
        if not client.is_active:
            raise exceptions.AuthenticationFailed("This API client has been revoked.")
        self._touch(client)
        return client.user, client

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _touch(client: ApiClient) -> None:
        now = timezone.now()
        if client.last_used_at is not None and now - client.last_used_at < LAST_USED_RESOLUTION:
            return
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now


def api_client_of(request) -> ApiClient | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiClient) else None


try:  # Documents the scheme in the OpenAPI schema (drf-spectacular).
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
        target_class = "core.authentication.ApiClientAuthentication"
        name = "apiClientBearer"

        def get_security_definition(self, auto_schema):
            return {
                "type": "http",
                "scheme": "bearer",
                "description": "An API client's secret from `manage.py create_api_client`.",
            }

except ImportError:  # pragma: no cover - drf-spectacular is a runtime dependency
    pass
