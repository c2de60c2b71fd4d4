"""Every non-trivial read of customers: search, lookups, the profile, duplicates."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    F,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from core.fixed_reads import FixedRowRead
from core.roles import ADMIN_GROUP, KnownRoles
from crm import search
from crm.models import (
    ConsentRecord,
    ContactPoint,
    ContactValueCount,
    Customer,
    CustomerQuerySet,
    ProfileFact,
    ProfileFactRevision,
    search_text,
)
from crm.phone import normalise_email, try_normalise_phone

# Name similarity (pg_trgm) at which two customers are shown as possible duplicates.
DUPLICATE_NAME_SIMILARITY = 0.6
# A query with this many digits (and no "@") is read as a phone number first.
PHONE_QUERY_MIN_DIGITS = 6
_PHONE_CHARS = re.compile(r"^[\s\d+().\-/#*xXextEXT.:]+$")
_VANITY = re.compile(r"^[\s\d+().\-A-Za-z]+$")


def newest_activity_first() -> list:
    return [
        Coalesce(F("last_activity_at"), F("updated_at")).desc(),
        F("pk").desc(),
    ]


# --- phone and e-mail -----------------------------------------------------------------


def phone_candidates(raw: str) -> list[str]:
    """Every E.164 number `raw` can mean: read in the default region, as an
    international number written with 00 instead of +, or with the + left out."""
    # NFKC folds full-width digits and plus signs ("＋１ ６５０…") to ASCII.
    text = unicodedata.normalize("NFKC", raw or "").strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < PHONE_QUERY_MIN_DIGITS:
        return []
    # The default region's reading wins: "4155550100" is a US number, not a
    # Swiss one with the "+" left out. Only when it reads as nothing there do
    # we try the international readings.
    phone = try_normalise_phone(text)
    if phone is not None:
        return [phone.e164]
    compact = re.sub(r"[\s().\-/]", "", text)
    variants = []
    if compact.startswith("00"):
        variants.append("+" + compact[2:])
    elif not compact.startswith("+"):
        variants.append("+" + compact)
    found: list[str] = []
    for variant in variants:
        phone = try_normalise_phone(variant)
        if phone and phone.e164 not in found:
            found.append(phone.e164)
    return found


def looks_like_phone(query: str) -> bool:
    text = unicodedata.normalize("NFKC", query).strip()
    if "@" in text or sum(char.isdigit() for char in text) < PHONE_QUERY_MIN_DIGITS:
        return False
    return bool(_PHONE_CHARS.match(text) or _VANITY.match(text))


def _active() -> QuerySet[Customer]:
    return Customer.objects.filter(merged_into__isnull=True)


def customers_by_phone(*, phone: str) -> QuerySet[Customer]:
    """All active customers with this number (households share lines), newest activity first."""
    return customers_with_contact(kind=ContactPoint.Kind.PHONE, values=phone_candidates(phone))


def email_candidates(raw: str) -> list[str]:
    """The stored form of an e-mail address, or nothing when `raw` is not one."""
    try:
        return [normalise_email(raw)]
    except ValidationError:
        return []


def customers_by_email(*, email: str) -> QuerySet[Customer]:
    return customers_with_contact(kind=ContactPoint.Kind.EMAIL, values=email_candidates(email))


def customers_with_contact(*, kind: str, values: list[str]) -> QuerySet[Customer]:
    """Active customers with a contact point of `kind` among `values` (stored form:
    E.164, a normalised address), newest activity first."""
    if not values:
        return Customer.objects.none()
    owners = ContactPoint.objects.filter(kind=kind, value__in=values)
    return _active().filter(pk__in=owners.values("customer_id")).order_by(*newest_activity_first())


# --- search and lists -----------------------------------------------------------------


def _name_search(customers: CustomerQuerySet, query: str, *, is_filtered: bool) -> CustomerQuerySet:
    needle = search_text(query)
    if not needle:
        return customers.none()
    return _name_search_postgres(customers, needle, is_filtered=is_filtered)


def _name_search_postgres(
    customers: CustomerQuerySet, needle: str, *, is_filtered: bool
) -> CustomerQuerySet:
    """The best NAME_SEARCH_LIMIT customers by name (see crm.search), best first.

    Typo tolerance first only for words that match no name as typed: a rep who
    typed a name right wants those people, not every lookalike. When the words
    as typed match names but no customer has them all ("Emily Moreau" for
    "Emilie Moreau"), every word is also read as a possible typo."""
    ranked_ids: list[int] = []
    for typos in (False, True):
        name_query = search.plan_name_query(needle, typos=typos)
        if name_query.is_empty:
            return customers.none()
        ranked_ids = search.ranked_customer_ids(
            name_query, among=customers if is_filtered else None
        )
        if ranked_ids or name_query.is_widest:
            break
    return customers.in_rank_order(ranked_ids)


def customer_list(
    *,
    query: str = "",
    owner_id: int | None = None,
    tag: str = "",
    preferred_language: str = "",
    preferred_channel: str = "",
    ordering: str = "",
) -> QuerySet[Customer]:
    """Active customers matching `query` (name, phone in any format or e-mail),
    best match first, with what a list row shows prefetched (constant queries)."""
    customers = (
        _active()
        .select_related("owner")
        .prefetch_related(
            "tags",
            "contact_points",
            Prefetch(
                "consent_records", queryset=ConsentRecord.objects.select_related("recorded_by")
            ),
        )
    )
    if owner_id:
        customers = customers.filter(owner_id=owner_id)
    if tag:
        customers = customers.filter(tags__name=tag.strip().lower())
    if preferred_language:
        customers = customers.filter(preferred_language__iexact=preferred_language)
    if preferred_channel:
        customers = customers.filter(preferred_channel=preferred_channel)
    query = (query or "").strip()
    if query:
        if "@" in query:
            try:
                email = normalise_email(query)
            except ValidationError:
                email = query.lower()
            owners = ContactPoint.objects.filter(kind=ContactPoint.Kind.EMAIL, value=email)
            return customers.filter(pk__in=owners.values("customer_id")).order_by(
                *newest_activity_first()
            )
        if looks_like_phone(query):
            numbers = phone_candidates(query)
            if numbers:
                owners = ContactPoint.objects.filter(
                    kind=ContactPoint.Kind.PHONE, value__in=numbers
                )
                return customers.filter(pk__in=owners.values("customer_id")).order_by(
                    *newest_activity_first()
                )
        is_filtered = bool(owner_id or tag or preferred_language or preferred_channel)
        return _name_search(customers, query, is_filtered=is_filtered)
    if ordering:
        return customers.order_by(ordering, "pk")
    return customers


# Read by every API create that names a customer: fixed SQL (core.fixed_reads).
_CUSTOMER_BY_ID = FixedRowRead(Customer, key="id")


def customer_by_id(*, customer_id: int) -> Customer | None:
    """The row with this id as it is (a merged customer too), or None."""
    return _CUSTOMER_BY_ID.get(customer_id)


def customer_get(*, customer_id: int) -> Customer:
    """The customer with this id, or the survivor it was merged into (old ids resolve)."""
    customer = customer_by_id(customer_id=customer_id)
    hops = 0
    while customer is not None and customer.merged_into_id is not None and hops < 10:
        customer = customer_by_id(customer_id=customer.merged_into_id)
        hops += 1
    if customer is None:
        raise Http404("No such customer.")
    return customer


def live_facts() -> Prefetch:
    return Prefetch(
        "facts",
        queryset=ProfileFact.objects.filter(deleted_at__isnull=True).select_related("recorded_by"),
        to_attr="live_facts",
    )


def _profile_prefetches() -> list:
    return [
        "tags",
        "contact_points",
        live_facts(),
        Prefetch(
            "consent_records",
            queryset=ConsentRecord.objects.select_related("recorded_by"),
        ),
    ]


def customer_profile_queryset() -> QuerySet[Customer]:
    """Everything the profile card, the page and the API detail show, in a fixed
    number of queries whatever the number of contact points, facts or consents."""
    return Customer.objects.select_related("owner", "merged_into").prefetch_related(
        *_profile_prefetches()
    )


def customer_profile(*, customer_id: int) -> Customer:
    """The profile of the customer (or of its survivor), fully prefetched."""
    customer = (
        Customer.objects.select_related("owner", "merged_into").filter(pk=customer_id).first()
    )
    if customer is None:
        raise Http404("No such customer.")
    if customer.merged_into_id is not None:
        # A merged id (an old link): one more query, for the survivor's row.
        survivor = customer_get(customer_id=customer_id)
        customer = Customer.objects.select_related("owner", "merged_into").get(pk=survivor.pk)
    prefetch_related_objects([customer], *_profile_prefetches())
    return customer


def fact_history(*, fact: ProfileFact) -> QuerySet[ProfileFactRevision]:
    return fact.revisions.select_related("changed_by").order_by("changed_at", "pk")


# --- derived profile facts --------------------------------------------------------------


@dataclass(frozen=True)
class ConsentState:
    channel: str
    label: str
    status: str  # granted | withdrawn | unknown
    record: ConsentRecord | None


def customer_consents(customer: Customer) -> list[ConsentState]:
    """Current consent per channel: the newest record wins. Uses the prefetched
    records when present (ordered newest first by the model)."""
    records = list(customer.consent_records.all())
    records.sort(key=lambda record: (record.recorded_at, record.pk), reverse=True)
    states = []
    for channel, label in ConsentRecord.Channel.choices:
        newest = next((record for record in records if record.channel == channel), None)
        states.append(
            ConsentState(
                channel=channel,
                label=label,
                status=newest.status if newest else "unknown",
                record=newest,
            )
        )
    return states


def customer_local_time(customer: Customer, *, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(customer.time_zone))


def is_quiet_time(start: time | None, end: time | None, local: time) -> bool:
    """Whether `local` falls in the quiet window [start, end), which may wrap midnight."""
    if start is None or end is None:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def customer_is_in_quiet_hours(customer: Customer, *, now: datetime) -> bool:
    local = customer_local_time(customer, now=now).time().replace(tzinfo=None)
    return is_quiet_time(customer.quiet_hours_start, customer.quiet_hours_end, local)


# --- duplicates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateCandidate:
    customer: Customer
    reasons: list[str]
    score: float


def _similar_names(*, customer: Customer, limit: int) -> list[tuple[int, float]]:
    """(id, similarity) of the active customers whose names are at least
    DUPLICATE_NAME_SIMILARITY alike, most alike first.

    pg_trgm's `%` operator filters by `pg_trgm.similarity_threshold` (0.3 by
    default, which name search's typo matching relies on). Set to the duplicates'
    own threshold for this one query, it lets the trigram index on search_name skip
    every name below it; otherwise the planner scans and compares every customer's
    name (a cost growing with the table, on every customer page)."""
    similar = (
        _active()
        .exclude(pk=customer.pk)
        .filter(search_name__trigram_similar=customer.search_name)
        .annotate(similarity=TrigramSimilarity("search_name", customer.search_name))
        .filter(similarity__gte=DUPLICATE_NAME_SIMILARITY)
        .order_by("-similarity")
        .values_list("pk", "similarity")[:limit]
    )
    nested = connection.in_atomic_block
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if nested:  # set_config(..., true) would last until the caller's transaction ends
            cursor.execute("SELECT current_setting('pg_trgm.similarity_threshold')")
            (previous,) = cursor.fetchone()
        cursor.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
            [str(DUPLICATE_NAME_SIMILARITY)],
        )
        rows = list(similar)
        if nested:
            cursor.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [previous]
            )
    return rows


def customer_duplicates(
    *, customer: Customer, limit: int = 10, with_profiles: bool = True
) -> list[DuplicateCandidate]:
    """Active customers that may be the same person: a shared phone or e-mail,
    or a very similar name (trigram similarity). `with_profiles`: each candidate's
    tags, contact points and consents prefetched (the API shows them; the
    customer page's list only names and links them)."""
    reasons: dict[int, list[str]] = {}
    scores: dict[int, float] = {}
    shared = (
        ContactPoint.objects.filter(
            kind__in=[ContactPoint.Kind.PHONE, ContactPoint.Kind.EMAIL],
            value__in=ContactPoint.objects.filter(
                customer=customer, kind__in=[ContactPoint.Kind.PHONE, ContactPoint.Kind.EMAIL]
            ).values("value"),
            customer__merged_into__isnull=True,
        )
        .exclude(customer=customer)
        .values_list("customer_id", "kind", "value")
    )
    for customer_id, kind, value in shared[: limit * 4]:
        reasons.setdefault(customer_id, []).append(f"same {kind} {value}")
        scores[customer_id] = scores.get(customer_id, 0.0) + 1.0
    for customer_id, similarity in _similar_names(customer=customer, limit=limit):
        reasons.setdefault(customer_id, []).append(f"similar name ({similarity:.0%})")
        scores[customer_id] = scores.get(customer_id, 0.0) + float(similarity)
    if not reasons:
        return []
    found_customers = Customer.objects.select_related("owner")
    if with_profiles:
        found_customers = found_customers.prefetch_related(
            "tags",
            "contact_points",
            Prefetch(
                "consent_records", queryset=ConsentRecord.objects.select_related("recorded_by")
            ),
        )
    found = found_customers.in_bulk(list(reasons))
    candidates = [
        DuplicateCandidate(customer=found[pk], reasons=reasons[pk], score=scores[pk])
        for pk in reasons
        if pk in found
    ]
    candidates.sort(key=lambda candidate: (-candidate.score, candidate.customer.pk))
    return candidates[:limit]


@dataclass(frozen=True)
class DuplicatePair:
    kind: str
    value: str
    customers: list[Customer]


# Candidates read per round and the most rounds: a value may be held twice by
# one customer (two extensions) or by merged customers, and is then no group.
DUPLICATE_CANDIDATES_PER_LIMIT = 2
DUPLICATE_CANDIDATE_ROUNDS = 3


def duplicate_groups(*, limit: int = 50) -> list[DuplicatePair]:
    """Phones and e-mails on more than one active customer, most shared first:
    the supervisor's merge queue. (Name-only lookalikes are per customer, in
    customer_duplicates, since comparing every pair of names does not scale.)

    Candidates come from crm_contactvaluecount (values held by more than one
    contact point, kept by triggers: migration 0010) off its partial index,
    and each is checked against the contact points of active customers, so
    the queue costs the same however many contact points there are."""
    candidates = (
        ContactValueCount.objects.filter(points__gt=1)
        .order_by("-points", "kind", "value")
        .values_list("kind", "value")
    )
    members: dict[tuple[str, str], list[int]] = {}
    batch_size = limit * DUPLICATE_CANDIDATES_PER_LIMIT
    for round_number in range(DUPLICATE_CANDIDATE_ROUNDS):
        batch = list(candidates[round_number * batch_size : (round_number + 1) * batch_size])
        if not batch:
            break
        condition = Q()
        for kind, value in batch:
            condition |= Q(kind=kind, value=value)
        holders: dict[tuple[str, str], list[int]] = {}
        for customer_id, kind, value in (
            ContactPoint.objects.filter(condition, customer__merged_into__isnull=True)
            .order_by("customer_id")
            .values_list("customer_id", "kind", "value")
        ):
            ids = holders.setdefault((kind, value), [])
            if customer_id not in ids:
                ids.append(customer_id)
        members.update({key: ids for key, ids in holders.items() if len(ids) > 1})
        if len(members) >= limit or len(batch) < batch_size:
            break
    if not members:
        return []
    shared = sorted(members, key=lambda key: (-len(members[key]), key))[:limit]
    customers = Customer.objects.select_related("owner").in_bulk(
        {pk for key in shared for pk in members[key]}
    )
    return [
        DuplicatePair(
            kind=kind, value=value, customers=[customers[pk] for pk in members[(kind, value)]]
        )
        for kind, value in shared
    ]


def user_time_zone(user) -> str:
    """The viewer's clock: their own choice (StaffProfile), else their first team's
    zone, else settings.TIME_ZONE. One query."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import OuterRef, Subquery

    from crm.models import StaffProfile, TeamMembership

    if user is None or not getattr(user, "is_authenticated", False):
        return settings.TIME_ZONE
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            own_zone=Subquery(
                StaffProfile.objects.filter(user_id=OuterRef("pk")).values("time_zone")[:1]
            ),
            team_zone=Subquery(
                TeamMembership.objects.filter(user_id=OuterRef("pk"))
                .order_by("pk")
                .values("team__time_zone")[:1]
            ),
        )
        .values_list("own_zone", "team_zone")
        .first()
    )
    own_zone, team_zone = row or (None, None)
    return own_zone or team_zone or settings.TIME_ZONE


# A user id no row has: the viewer query is compiled once with it, then run with
# the signed-in user's id in its place.
_ANY_USER_ID = -1


@cache
def _viewer_sql() -> tuple[str, tuple]:
    """The viewer query's SQL, compiled by the ORM once per process: it runs on
    every page request, and compiling its five subqueries costs ~1.5 ms of Python
    each time, ten times what the database takes to answer (as core.fixed_reads)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import Exists, OuterRef, Subquery

    from crm.models import StaffProfile, TeamMembership

    memberships = TeamMembership.objects.filter(user_id=OuterRef("pk")).order_by("pk")
    query = (
        get_user_model()
        .objects.filter(pk=_ANY_USER_ID)
        .annotate(
            in_admin_group=Exists(Group.objects.filter(name=ADMIN_GROUP, user=OuterRef("pk"))),
            team_ids=ArraySubquery(memberships.values("team_id")),
            supervised_team_ids=ArraySubquery(
                memberships.filter(role=TeamMembership.Role.SUPERVISOR).values("team_id")
            ),
            own_zone=Subquery(
                StaffProfile.objects.filter(user_id=OuterRef("pk")).values("time_zone")[:1]
            ),
            team_zone=Subquery(memberships.values("team__time_zone")[:1]),
        )
        .values_list("in_admin_group", "team_ids", "supervised_team_ids", "own_zone", "team_zone")
        .query
    )
    sql, params = query.sql_with_params()
    if list(params).count(_ANY_USER_ID) != 1:
        raise RuntimeError("The viewer query must name the user's id exactly once.")
    return sql, tuple(params)


def viewer_roles_and_time_zone(user) -> tuple[KnownRoles, str]:
    """A signed-in user's roles (core.roles.KnownRoles) and clock (as user_time_zone),
    in one query: what crm.middleware reads once per page request."""
    from django.conf import settings

    sql, params = _viewer_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk if value == _ANY_USER_ID else value for value in params])
        row = cursor.fetchone()
    in_admin_group, team_ids, supervised, own_zone, team_zone = row or (False, [], [], None, None)
    roles = KnownRoles(
        is_admin=bool(user.is_superuser or in_admin_group),
        team_ids=frozenset(team_ids),
        supervised_team_ids=frozenset(supervised),
    )
    return roles, own_zone or team_zone or settings.TIME_ZONE
