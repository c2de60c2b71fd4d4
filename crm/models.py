import unicodedata

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from crm.validators import validate_language_tag, validate_time_zone

# A "thing to remember" is a sentence or two, not a case file: long notes
# belong in an interaction. Enforced by the model, the API and the database.
FACT_TEXT_MAX_LENGTH = 1000


def search_text(*parts: str) -> str:
    """Lower-case, accent-free text for search: 'Jürgen Müller' -> 'jurgen muller'.

    Done in Python rather than with PostgreSQL's unaccent() because unaccent()
    is not IMMUTABLE and so cannot back an index.
    """
    text = " ".join(part for part in parts if part)
    # Letters NFKD does not decompose but people type without the stroke.
    text = text.translate(
        str.maketrans({"Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "ß": "ss"})
    )
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


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


class Tag(models.Model):
    """A free label reps put on customers ("vip", "hard of hearing" goes in accessibility)."""

    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    # Set only on the queryset in_rank_order() returns; any further filter,
    # order or clone is a plain queryset again (Django does not copy these).
    _ranked_ids: list[int] | None = None
    _unranked: "CustomerQuerySet | None" = None

    def in_rank_order(self, ids: list[int]) -> "CustomerQuerySet":
        """These of the customers, in this order (a name search's ranked result).
        Its count() is len(ids) with no query, and a slice reads only the rows
        it returns, which is what the list page, the API pagination and the
        benchmark do with it."""
        ranked = self._in_order(ids)
        ranked._ranked_ids = list(ids)
        ranked._unranked = self
        return ranked

    def _in_order(self, ids: list[int]) -> "CustomerQuerySet":
        if not ids:
            return self.none()
        table = self.model._meta.db_table
        # The table name is the model's; the ids travel as a parameter.
        position = RawSQL(f'array_position(%s::bigint[], "{table}"."id")', (ids,))  # noqa: S611
        return self.filter(pk__in=ids).order_by(position)

    def count(self) -> int:
        if self._ranked_ids is not None and self._result_cache is None:
            return len(self._ranked_ids)
        return super().count()

    def __getitem__(self, k):
        if (
            self._ranked_ids is not None
            and self._unranked is not None
            and self._result_cache is None
            and isinstance(k, slice)
            and k.step is None
            and (k.start or 0) >= 0
            and (k.stop is None or k.stop >= 0)
        ):
            return self._unranked._in_order(self._ranked_ids[k])
        return super().__getitem__(k)


class Customer(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        IN_PERSON = "in_person", "In person"

    full_name = models.CharField(max_length=200)
    preferred_name = models.CharField(max_length=100, blank=True, default="")
    # How to say the name, e.g. "YUR-gen MUE-ler"; free text, shown beside the name.
    pronunciation = models.CharField(max_length=200, blank=True, default="")
    pronouns = models.CharField(max_length=40, blank=True, default="")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # BCP 47, stored in langcodes' standard form ("en-GB").
    preferred_language = models.CharField(
        max_length=35, blank=True, default="", validators=[validate_language_tag]
    )
    preferred_channel = models.CharField(
        max_length=16, choices=Channel.choices, blank=True, default=""
    )
    # Do-not-disturb window in the customer's own time zone; may wrap midnight
    # (21:00-08:00). Both set or both empty.
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    accessibility_needs = models.TextField(blank=True, default="", max_length=2000)
    organisation = models.CharField(max_length=200, blank=True, default="")
    organisation_role = models.CharField(max_length=120, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_customers",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    # A merged customer stays as a pointer so old ids still resolve.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    # Derived from the names by save(): see search_text(). A GIN trigram index
    # (crm_customer_name_trgm, migration 0002) serves duplicate detection and the admin's search; name
    # search (crm.search) reads CustomerNameToken and CustomerNameWord, which
    # database triggers keep in step with every write of this column, of
    # full_name and of merged_into, however made.
    search_name = models.CharField(max_length=310, blank=True, default="", editable=False)
    # Newest contact with the customer; other apps bump it with services.customer_touch.
    # In no index, so that update stays heap-only (fillfactor: migration 0006).
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["full_name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="crm_customer_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="crm_customer_quiet_hours_both_or_neither",
            ),
            models.CheckConstraint(
                condition=Q(preferred_channel__in=["", "phone", "email", "sms", "in_person"]),
                name="crm_customer_preferred_channel_valid",
            ),
        ]
        indexes = [
            # The customer lists (API, page, admin) in their default order and by
            # newest: a page reads the front of the index instead of sorting every
            # customer. Neither column changes when customer_touch bumps
            # last_activity_at, so that update stays heap-only (0006).
            models.Index(fields=["full_name", "id"], name="crm_customer_list_name_idx"),
            models.Index(fields=["created_at", "id"], name="crm_customer_list_created_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        self.search_name = search_text(self.full_name, self.preferred_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"full_name", "preferred_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.full_name

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class CustomerNameToken(models.Model):
    """A distinct word of active customers' search names.

    PostgreSQL only, and written only by the database: triggers on crm_customer
    (migration 0005) add and remove words on every insert, change of the names
    or of the merge, delete and truncate, whatever path the write takes
    (services, `.update()`, bulk SQL), so an erased name leaves no word behind.
    crm.search matches query words against this small table (trigram index)
    first.
    """

    token = models.TextField(primary_key=True, db_collation="C")

    class Meta:
        managed = False

    def __str__(self) -> str:
        return self.token


class CustomerNameWord(models.Model):
    """One word of an active (not merged) customer's search name, at its
    position (1 = first), with the full name results sort by: crm.search ranks
    from its index alone, never reading the customers' rows.

    PostgreSQL only, written only by the same triggers as CustomerNameToken
    (on insert, on a change of the names or of the merge, on delete and
    truncate), so it always says what crm_customer says.
    """

    pk = models.CompositePrimaryKey("customer_id", "token", "position")
    customer_id = models.BigIntegerField()
    token = models.TextField(db_collation="C")
    position = models.SmallIntegerField()
    full_name = models.TextField()

    class Meta:
        managed = False

    def __str__(self) -> str:
        return self.token


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

    @property
    def display_value(self) -> str:
        """How people read it: national for the team's own region ("(415) 555-0100"),
        international for others ("+81 3-1234-5678"), rather than "+14155550100"."""
        if self.kind != self.Kind.PHONE:
            return self.value
        from crm.phone import display_phone

        return display_phone(self.value)


class ContactValueCount(models.Model):
    """How many contact points hold each phone number and e-mail address.

    PostgreSQL only, and written only by the database: triggers on
    crm_contactpoint (migration 0010) count every insert, change of kind or
    value, delete and truncate, whatever path the write takes (services, bulk
    SQL, imports). A value held more than once is a candidate for the merge
    queue (crm.selectors.duplicate_groups), found from a small partial index
    instead of grouping every contact point.
    """

    pk = models.CompositePrimaryKey("kind", "value")
    kind = models.CharField(max_length=16)
    value = models.CharField(max_length=320)
    points = models.IntegerField()

    class Meta:
        managed = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.value} ({self.points})"


class ConsentRecord(models.Model):
    """One change of a customer's consent to be contacted on a channel.

    Append-only: the newest record per channel is the current consent, the
    older ones are the history (who, when, how) a data-protection request asks for.
    """

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Method(models.TextChoices):
        VERBAL = "verbal", "Verbally, on a call or visit"
        WRITTEN = "written", "Signed form"
        WEB_FORM = "web_form", "Web form"
        EMAIL = "email", "By e-mail"
        IMPORT = "import", "Imported"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    method = models.CharField(max_length=16, choices=Method.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["phone", "email", "sms"]), name="crm_consent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["granted", "withdrawn"]), name="crm_consent_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "channel", "-recorded_at"], name="crm_consent_current_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} for customer {self.customer_id}"


class ProfileFact(models.Model):
    """A "thing to remember" about the customer: family, work, interests..."""

    class Category(models.TextChoices):
        FAMILY = "family", "Family"
        WORK = "work", "Work"
        INTERESTS = "interests", "Interests"
        PREFERENCES = "preferences", "Preferences"
        ACCESSIBILITY = "accessibility", "Accessibility"
        OTHER = "other", "Other"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="facts")
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    text = models.TextField(max_length=FACT_TEXT_MAX_LENGTH)
    is_pinned = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField()
    # The interaction the fact was learnt in. A plain id, not a ForeignKey:
    # crm must not depend on interactions (DESIGN.md, one-way dependencies).
    origin_interaction_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft delete: the fact disappears from the profile, its history stays.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-is_pinned", "-recorded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    category__in=[
                        "family",
                        "work",
                        "interests",
                        "preferences",
                        "accessibility",
                        "other",
                    ]
                ),
                name="crm_fact_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(LessThanOrEqual(Length("text"), FACT_TEXT_MAX_LENGTH)) & ~Q(text=""),
                name="crm_fact_text_length",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-is_pinned", "-recorded_at"],
                condition=Q(deleted_at__isnull=True),
                name="crm_fact_live_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.text[:40]}"


class ProfileFactRevision(models.Model):
    """Every state a fact has had, with who made it: created, edited, deleted, restored."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        DELETED = "deleted", "Deleted"
        RESTORED = "restored", "Restored"

    fact = models.ForeignKey(ProfileFact, on_delete=models.CASCADE, related_name="revisions")
    action = models.CharField(max_length=16, choices=Action.choices)
    category = models.CharField(max_length=16)
    text = models.TextField(max_length=FACT_TEXT_MAX_LENGTH)
    is_pinned = models.BooleanField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["fact", "changed_at", "pk"]

    def __str__(self) -> str:
        return f"fact {self.fact_id} {self.action} at {self.changed_at:%Y-%m-%d %H:%M}"


class CustomerMerge(models.Model):
    """What one merge moved from the duplicate (source) to the survivor (target)."""

    source = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_received")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    merged_at = models.DateTimeField()
    # {"<app_label.model>.<field>": [ids moved]} plus dropped duplicate contact points.
    moved = models.JSONField(default=dict)

    class Meta:
        ordering = ["-merged_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="crm_merge_not_into_self"
            ),
            models.UniqueConstraint(fields=["source"], name="crm_merge_source_once"),
        ]

    def __str__(self) -> str:
        return f"customer {self.source_id} merged into {self.target_id}"


class StaffProfile(models.Model):
    """A staff member's own settings. `time_zone` blank: the clock of their (first)
    team, else the site's TIME_ZONE (crm.selectors.user_time_zone)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    time_zone = models.CharField(
        max_length=64, blank=True, default="", validators=[validate_time_zone]
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or 'team time zone'})"
