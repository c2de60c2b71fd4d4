"""The audit trail: every touch of personal data and of security settings leaves a row.

Call `audit_record` in the same transaction as the action it records (Zulip's
actions write their audit row the same way), so an action that rolls back
leaves no entry and an entry never describes something that did not happen.

`details` names fields and ids ("fields": ["preferred_name"]), never the
personal values themselves: the trail must survive a customer's erasure, and
values would be personal data kept past it. Erasure still scrubs any value
that slipped in (`audit_redact_customer`).

Rows are append-only (the AuditEntry docstring says how that is enforced);
admins browse them read-only in the Django admin.
"""

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core.models import AuditEntry

Action = AuditEntry.Action

ERASED_MARK = "[erased]"
ACTION_FORMAT = re.compile(r"[a-z_]+\.[a-z_]+")


def client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted
    # proxy rewrites it, and an audit row must not record a forged address.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target_type: str,
    target_id: Any,
    customer_id: int | None = None,
    details: dict | None = None,
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one entry. `actor` None (or anonymous) is the system or an unknown caller."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    label = actor_label or (actor.get_username() if actor is not None else "")
    entry = AuditEntry(
        occurred_at=timezone.now(),
        actor=actor,
        actor_label=label[:150],
        action=action,
        target_type=target_type,
        target_id="" if target_id is None else str(target_id)[:64],
        customer_id=customer_id,
        ip_address=client_ip(request),
        details=details or {},
    )
    # One INSERT and nothing else: every profile view writes an entry, so no
    # validation queries (the actor is a loaded user; the database's check
    # constraint backs up the format check done here in Python).
    entry.full_clean(exclude=["actor"], validate_constraints=False)
    if not ACTION_FORMAT.fullmatch(entry.action):
        raise ValidationError({"action": [f"Use <entity>.<verb>, not {entry.action!r}."]})
    entry.save(force_insert=True)
    return entry


def audit_customers_viewed(
    *,
    actor: AbstractBaseUser,
    customer_ids: Iterable[int],
    request: HttpRequest | None = None,
    via: str,
) -> int:
    """One entry per customer shown by a read that returns several (screen-pop lookup),
    written in one INSERT so the read's query count stays flat."""
    label = actor.get_username() if getattr(actor, "is_authenticated", False) else ""
    now = timezone.now()
    entries = [
        AuditEntry(
            occurred_at=now,
            actor=actor if label else None,
            actor_label=label[:150],
            action=Action.CUSTOMER_VIEWED,
            target_type="customer",
            target_id=str(customer_id),
            customer_id=customer_id,
            ip_address=client_ip(request),
            details={"via": via},
        )
        for customer_id in customer_ids
    ]
    if len(entries) == 1:
        # Outside a transaction one INSERT commits itself: one round trip where
        # bulk_create's BEGIN/INSERT/COMMIT takes three (the screen-pop waits on it).
        entries[0].save()
    else:
        AuditEntry.objects.bulk_create(entries)
    return len(entries)


def audit_customer_viewed(
    *, actor: AbstractBaseUser, customer_id: int, request: HttpRequest | None = None
) -> AuditEntry:
    """One line for a view that shows a customer's profile (page or API read)."""
    return audit_record(
        actor=actor,
        action=Action.CUSTOMER_VIEWED,
        target_type="customer",
        target_id=customer_id,
        customer_id=customer_id,
        request=request,
    )


def audit_entries_about_customer(*, customer_id: int) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(customer_id=customer_id).order_by("occurred_at", "pk")


def _scrub(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        folded = value.casefold()
        return ERASED_MARK if any(needle in folded for needle in needles) else value
    if isinstance(value, list):
        return [_scrub(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, needles) for key, item in value.items()}
    return value


@transaction.atomic
def audit_redact_customer(*, customer_id: int, personal_values: Iterable[str]) -> int:
    """Blank any of `personal_values` inside `details` of entries about the customer.

    The only change the append-only trigger lets through, and only inside this
    transaction (SET LOCAL ends with it). Returns the number of entries changed.
    """
    needles = sorted({value.casefold() for value in personal_values if value and value.strip()})
    if not needles:
        return 0
    changed = []
    for entry in AuditEntry.objects.filter(customer_id=customer_id).only("pk", "details"):
        scrubbed = _scrub(entry.details, needles)
        if scrubbed != entry.details:
            entry.details = scrubbed
            changed.append(entry)
    if not changed:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('rapport.audit_redaction', 'on', true)")
    AuditEntry.objects.bulk_update(changed, ["details"], batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('rapport.audit_redaction', 'off', true)")
    return len(changed)


# --- Logins -----------------------------------------------------------------
# Framework events, not business flow: Django sends these signals from its own
# login machinery (and axes sends user_locked_out), so receivers are the only
# place to hear them. Connected in CrmConfig.ready().


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    audit_record(
        actor=user,
        action=Action.LOGIN_SUCCEEDED,
        target_type="user",
        target_id=user.pk,
        request=request,
    )


def on_user_logged_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    audit_record(
        actor=user, action=Action.LOGOUT, target_type="user", target_id=user.pk, request=request
    )


def on_user_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in `credentials`; keep only the name tried.
    username = str(credentials.get("username") or "")[:150]
    audit_record(
        actor=None,
        actor_label=username,
        action=Action.LOGIN_FAILED,
        target_type="user",
        target_id="",
        details={"locked_out": bool(getattr(request, "axes_locked_out", False))},
        request=request,
    )
