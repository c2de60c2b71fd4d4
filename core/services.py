"""Writes for API clients: create, change, revoke, rotate. The secret is returned once."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.models import ApiClient

SECRET_MARKER = "rap"  # noqa: S105 - a marker, not a secret
PREFIX_LENGTH = 12  # hex characters: 48 bits, enough to make a collision a non-event


@dataclass(frozen=True)
class IssuedSecret:
    client: ApiClient
    secret: str


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_split(secret: str) -> tuple[str, str] | None:
    """`rap_<prefix>_<random>` -> (prefix, secret); None when it is not ours."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != SECRET_MARKER or len(parts[1]) != PREFIX_LENGTH:
        return None
    return parts[1], secret


def secret_matches(client: ApiClient, secret: str) -> bool:
    return hmac.compare_digest(client.secret_digest, secret_digest(secret))


def _new_secret() -> tuple[str, str]:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    return prefix, f"{SECRET_MARKER}_{prefix}_{secrets.token_urlsafe(32)}"


def _audit(client: ApiClient, action: str, actor, request, details: dict | None = None) -> None:
    """Who changed which client; never the secret. `actor` None: a management command."""
    audit_record(
        actor=actor,
        action=action,
        target_type="api_client",
        target_id=client.pk,
        details={"name": client.name, **(details or {})},
        request=request,
        actor_label="" if actor is not None else "manage.py",
    )


def _validate_scopes(scopes: list[str]) -> list[str]:
    valid = set(ApiClient.Scope.values)
    unknown = sorted(set(scopes) - valid)
    if unknown:
        raise ValidationError(
            {"scopes": [f"Unknown scope(s): {', '.join(unknown)}; use {', '.join(sorted(valid))}."]}
        )
    return sorted(set(scopes))


@transaction.atomic
def api_client_create(
    *,
    name: str,
    scopes: list[str],
    creates_unmatched_customers: bool = False,
    rate_limit: str = "",
    actor=None,
    request=None,
) -> IssuedSecret:
    User = get_user_model()
    username = f"api-client-{name}"[:150]
    if User.objects.filter(username=username).exists():
        raise ValidationError({"name": [f"An API client or user named {username!r} exists."]})
    user = User(username=username, is_active=True)
    user.set_unusable_password()  # a service account never logs into the browser
    user.save()
    prefix, secret = _new_secret()
    client = ApiClient(
        name=name,
        user=user,
        prefix=prefix,
        secret_digest=secret_digest(secret),
        scopes=_validate_scopes(scopes),
        creates_unmatched_customers=creates_unmatched_customers,
        rate_limit=rate_limit,
    )
    client.full_clean()
    client.save()
    _audit(client, "api_client.created", actor, request, {"scopes": client.scopes})
    return IssuedSecret(client=client, secret=secret)


# Fields api_client_update may change; the secret only by rotation, the state by revoke/rotate.
API_CLIENT_EDITABLE_FIELDS = ("name", "scopes", "creates_unmatched_customers", "rate_limit")


@transaction.atomic
def api_client_update(*, client: ApiClient, changes: dict, actor=None, request=None) -> ApiClient:
    """Rename a client or change what it may do (scopes, unmatched customers, rate)."""
    unknown = set(changes) - set(API_CLIENT_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    changes = dict(changes)
    if "scopes" in changes:
        changes["scopes"] = _validate_scopes(changes["scopes"])
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    for field, value in changes.items():
        setattr(client, field, value)
    client.full_clean()
    client.save(update_fields=list(changes))
    # Names of the changed fields, and the scopes a client now holds (not secret).
    details = {"fields": sorted(changes)}
    if "scopes" in changes:
        details["scopes"] = client.scopes
    _audit(client, "api_client.changed", actor, request, details)
    return client


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor=None, request=None) -> ApiClient:
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.is_active:
        client.is_active = False
        client.revoked_at = timezone.now()
        client.save(update_fields=["is_active", "revoked_at"])
        _audit(client, "api_client.revoked", actor, request)
    return client


@transaction.atomic
def api_client_rotate(*, client: ApiClient, actor=None, request=None) -> IssuedSecret:
    """A new secret; the old one stops working at once. Reactivates a revoked client."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    prefix, secret = _new_secret()
    client.prefix = prefix
    client.secret_digest = secret_digest(secret)
    client.is_active = True
    client.revoked_at = None
    client.save(update_fields=["prefix", "secret_digest", "is_active", "revoked_at"])
    _audit(client, "api_client.rotated", actor, request)
    return IssuedSecret(client=client, secret=secret)
