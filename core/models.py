"""Models of the shared API plumbing: API clients, idempotency keys, the audit trail.

They were born in `crm` and keep their tables (`crm_apiclient`, `crm_idempotencyrecord`,
`crm_auditentry`): migration core/0001 moved them here without touching the database.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiClient(models.Model):
    """A machine that calls the API (phone system, e-mail gateway, data sync).

    Its secret is shown once; only a SHA-256 digest is kept, found by the
    indexed `prefix` (the secret is long and random, so a fast digest is safe;
    a password hasher would cost ~0.25 s a request). `user` is a service
    account so rows the client writes can name who wrote them.
    """

    class Scope(models.TextChoices):
        CUSTOMERS_READ = "customers:read", "Read customers"
        CUSTOMERS_WRITE = "customers:write", "Write customers"
        INTERACTIONS_READ = "interactions:read", "Read interactions"
        INTERACTIONS_WRITE = "interactions:write", "Write interactions"
        FOLLOWUPS_READ = "followups:read", "Read follow-ups"
        FOLLOWUPS_WRITE = "followups:write", "Write follow-ups"

    name = models.CharField(max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client"
    )
    prefix = models.CharField(max_length=16, unique=True)
    secret_digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True)
    # Batch sync and phone integrations: a caller no customer has yet either
    # becomes a new customer or stays unmatched for a rep to assign.
    creates_unmatched_customers = models.BooleanField(default=False)
    # DRF-style rate "N/s|m|h|d"; empty uses API_CLIENT_DEFAULT_RATE.
    rate_limit = models.CharField(max_length=20, blank=True, default="")
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "crm_apiclient"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True) | Q(revoked_at__isnull=False),
                name="crm_apiclient_inactive_is_revoked",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def has_scopes(self, scopes: list[str] | tuple[str, ...]) -> bool:
        granted = set(self.scopes or [])
        return all(scope in granted for scope in scopes)


class IdempotencyRecord(models.Model):
    """First response to an `Idempotency-Key`, replayed for 24 h (core.idempotency).

    The row is inserted before the work runs, in the same transaction, so a
    second request with the same key waits on the unique index and then
    replays instead of doing the work again.
    """

    scope = models.CharField(max_length=64)  # "client:<id>" or "user:<id>"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "crm_idempotencyrecord"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="crm_idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="crm_idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class AuditEntry(models.Model):
    """One touch of personal data or of security settings: who, what, when (core.audit).

    Append-only. No endpoint updates or deletes a row, and on PostgreSQL a
    trigger (migration 0003_audit_trail) refuses UPDATE and DELETE; the one
    exception is erasure blanking `details` of entries about an erased
    customer (core.audit.audit_redact_customer). `details` names fields and
    ids, never the personal values themselves.

    `actor` carries no database constraint so deleting a user never has to
    update (and so never trips over) the audit rows; `actor_label` keeps the
    name the actor had when acting. `customer_id` is a plain id for the same
    reason and so that entries about an erased or merged customer stay.
    """

    class Action(models.TextChoices):
        CUSTOMER_VIEWED = "customer.viewed", "Customer profile viewed"
        CUSTOMER_CREATED = "customer.created", "Customer created"
        CUSTOMER_UPDATED = "customer.updated", "Customer details changed"
        CUSTOMER_MERGED = "customer.merged", "Customers merged"
        CUSTOMER_EXPORTED = "customer.exported", "Customer data exported"
        CUSTOMER_ERASED = "customer.erased", "Customer erased"
        CONTACT_POINT_ADDED = "contact_point.added", "Contact point added"
        CONTACT_POINT_CHANGED = "contact_point.changed", "Contact point changed"
        CONTACT_POINT_REMOVED = "contact_point.removed", "Contact point removed"
        CONSENT_RECORDED = "consent.recorded", "Consent recorded"
        FACT_CREATED = "fact.created", "Thing to remember added"
        FACT_EDITED = "fact.edited", "Thing to remember edited"
        FACT_DELETED = "fact.deleted", "Thing to remember deleted"
        FACT_RESTORED = "fact.restored", "Thing to remember restored"
        API_CLIENT_CREATED = "api_client.created", "API client created"
        API_CLIENT_CHANGED = "api_client.changed", "API client changed"
        API_CLIENT_REVOKED = "api_client.revoked", "API client revoked"
        API_CLIENT_ROTATED = "api_client.rotated", "API client secret rotated"
        LOGIN_SUCCEEDED = "auth.login", "Logged in"
        LOGIN_FAILED = "auth.login_failed", "Login failed"
        LOGOUT = "auth.logout", "Logged out"

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    # Dotted "<entity>.<verb>"; Action lists the known ones, apps may add more.
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True, default="")
    customer_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "crm_auditentry"
        ordering = ["-occurred_at", "-pk"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(action__regex=r"^[a-z_]+\.[a-z_]+$"), name="crm_audit_action_dotted"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer_id", "-occurred_at"],
                condition=Q(customer_id__isnull=False),
                name="crm_audit_customer_idx",
            ),
            models.Index(fields=["actor", "-occurred_at"], name="crm_audit_actor_idx"),
            models.Index(fields=["action", "-occurred_at"], name="crm_audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label or '-'} {self.action}"
