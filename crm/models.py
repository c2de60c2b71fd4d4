from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.validators import validate_time_zone


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # ISO 3166 country whose public holidays close the team (`holidays` package).
    holiday_country = models.CharField(max_length=2, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        REP = "rep", "Rep"
        SUPERVISOR = "supervisor", "Supervisor"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"], name="crm_membership_unique_team_user"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["rep", "supervisor"]), name="crm_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team}"


class Customer(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        IN_PERSON = "in_person", "In person"

    full_name = models.CharField(max_length=200)
    preferred_name = models.CharField(max_length=100, blank=True, default="")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    preferred_language = models.CharField(max_length=35, blank=True, default="")
    preferred_channel = models.CharField(
        max_length=16, choices=Channel.choices, blank=True, default=""
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_customers",
    )
    # A merged customer stays as a pointer so old ids still resolve.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["full_name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="crm_customer_not_merged_into_self"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.full_name


class ContactPoint(models.Model):
    class Kind(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        ADDRESS = "address", "Postal address"

    class Label(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        WORK = "work", "Work"
        HOME = "home", "Home"
        OTHER = "other", "Other"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=16, choices=Label.choices, default=Label.OTHER)
    # Normalised: E.164 for phones, lower-case for e-mails, as written for addresses.
    value = models.CharField(max_length=320)
    extension = models.CharField(max_length=20, blank=True, default="")
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["phone", "email", "address"]), name="crm_contact_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="phone") | Q(value__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="crm_contact_phone_is_e164",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(is_primary=True),
                name="crm_contact_one_primary_per_kind",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "value", "extension"],
                name="crm_contact_unique_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["kind", "value"], name="crm_contact_kind_value_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"
