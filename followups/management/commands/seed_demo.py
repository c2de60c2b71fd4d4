"""Realistic demo data: `python manage.py seed_demo`. Safe to run twice.

It lives in followups, the top app, because it fills every app's tables.

Every row has a stable key (username, team name, customer e-mail,
interaction source+external_id, follow-up origin interaction), so a second
run finds what the first made and adds nothing.
"""

import random
from datetime import time, timedelta

import phonenumbers
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.models import (
    ConsentRecord,
    ContactPoint,
    Customer,
    ProfileFact,
    ProfileFactRevision,
    Tag,
    Team,
    TeamMembership,
    search_text,
)

DEMO_PASSWORD = "rapport-demo"  # noqa: S105 - printed to the operator on purpose
ADMIN_PASSWORD = "rapport-admin"  # noqa: S105
CUSTOMER_COUNT = 500
INTERACTION_COUNT = 5000
FOLLOWUP_COUNT = 800
# Promises from the past weeks, already decided, so the metrics show a history:
# per 20, 12 kept on time, 3 kept late, 2 renegotiated then kept, 2 still missed, 1 cancelled.
HISTORY_FOLLOWUP_COUNT = 600
HISTORY_PATTERN = ["on_time"] * 12 + ["late"] * 3 + ["renegotiated"] * 2 + ["missed"] * 2
HISTORY_PATTERN += ["cancelled"]
# About a third of the contacts that can be rated get a CSAT answer.
FEEDBACK_EVERY = 3
FEEDBACK_SCORES = [5, 4, 5, 3, 4, 2, 5, 4, 1, 4]
DEMO_SOURCE = "demo"

TEAMS = [
    ("Front Desk", "America/New_York", "US"),
    ("Billing", "Europe/Berlin", "DE"),
    ("Field Service", "America/Los_Angeles", "US"),
]
REPS = [
    ("maria", "María", "González"),
    ("james", "James", "Okafor"),
    ("aiko", "Aiko", "Tanaka"),
    ("lukas", "Lukas", "Schmidt"),
    ("priya", "Priya", "Raman"),
    ("omar", "Omar", "Haddad"),
    ("chloe", "Chloé", "Martin"),
    ("diego", "Diego", "Silva"),
    ("nina", "Nina", "Kowalska"),
    ("tom", "Tom", "Baker"),
]
SUPERVISORS = [("sam", "Sam", "Rivera"), ("ingrid", "Ingrid", "Larsen")]

# (region for phone numbers, time zones, language, first names, last names)
LOCALES = [
    (
        "US",
        ["America/New_York", "America/Chicago", "America/Los_Angeles"],
        "en-US",
        ["Emily", "Michael", "Jessica", "David", "Ashley", "Chris", "Sarah", "Brian"],
        ["Johnson", "Williams", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor"],
    ),
    (
        "DE",
        ["Europe/Berlin"],
        "de-DE",
        ["Jürgen", "Anna", "Björn", "Lena", "Matthias", "Sophie", "Günter", "Katrin"],
        ["Müller", "Schneider", "Fischer", "Weber", "Becker", "Schäfer", "Koch", "Wagner"],
    ),
    (
        "FR",
        ["Europe/Paris"],
        "fr-FR",
        ["Émilie", "François", "Hélène", "Jérôme", "Zoë", "Benoît", "Amélie", "Léo"],
        ["Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "Fontaine", "Rousseau", "Faure"],
    ),
    (
        "MX",
        ["America/Mexico_City"],
        "es-MX",
        ["José", "Lucía", "Andrés", "Sofía", "Ramón", "Valentina", "Íñigo", "Camila"],
        ["Hernández", "García", "Martínez", "López", "Pérez", "Sánchez", "Ramírez", "Núñez"],
    ),
    (
        "JP",
        ["Asia/Tokyo"],
        "ja-JP",
        ["Haruto", "Yui", "Sota", "Hina", "Ren", "Sakura", "Kaito", "Aoi"],
        ["Sato", "Suzuki", "Takahashi", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi"],
    ),
    (
        "IN",
        ["Asia/Kolkata"],
        "hi-IN",
        ["Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Isha", "Rohan", "Kavya"],
        ["Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Singh", "Mehta"],
    ),
    (
        "VN",
        ["Asia/Ho_Chi_Minh"],
        "vi-VN",
        ["Minh", "Linh", "Huy", "Thảo", "Quân", "Trang", "Đức", "Ngọc"],
        ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"],
    ),
    (
        "GB",
        ["Europe/London"],
        "en-GB",
        ["Oliver", "Amelia", "Harry", "Isla", "George", "Freya", "Siobhán", "Niamh"],
        ["Smith", "Jones", "O'Brien", "Evans", "Thomas", "Roberts", "Walsh", "Hughes"],
    ),
]
CHANNEL_WEIGHTS = [("phone", 50), ("email", 30), ("in_person", 12), ("chat", 5), ("sms", 3)]
DEMO_CATEGORIES = ["complaint", "question", "question", "request", "feedback", "praise", "other"]
DEMO_SENTIMENTS = [-2, -1, 0, 0, 1, 1, 2, None, 0, 1, -1]
OUTCOMES = ["resolved", "promise_made", "information_given", "no_answer", "voicemail", "escalated"]
SUMMARIES = [
    "Asked about the invoice for last month; explained the pro-rated charge.",
    "Reported the router drops connection in the evenings.",
    "Wants to move the appointment to next week.",
    "Complained that the technician arrived late.",
    "Thanked us for the quick replacement.",
    "Question about upgrading the plan for the family.",
    "Requested a copy of the contract by post.",
    "Needs the accessible entrance for the in-store visit.",
]
PROMISES = [
    "Call back with the refund confirmation",
    "E-mail the corrected invoice",
    "Confirm the technician's new visit time",
    "Send the contract copy by post",
    "Check the outage report and call back",
    "Reply with the upgrade options",
]

# --- profile details (issue 3) ---------------------------------------------------
PRONUNCIATIONS = {
    "Siobhán": "shi-VAWN",
    "Niamh": "NEEV",
    "Jürgen": "YUR-gen",
    "Björn": "BYURN",
    "Íñigo": "EEN-yee-go",
    "Benoît": "buh-NWAH",
    "Hélène": "ay-LEN",
    "Jérôme": "zhay-ROHM",
    "Zoë": "ZOH-ee",
    "Aoi": "AH-oh-ee",
    "Haruto": "ha-ROO-toh",
    "Đức": "DUK",
    "Thảo": "TAO",
    "Ngọc": "NGOWK",
    "Vihaan": "vee-HAHN",
    "Matthias": "ma-TEE-as",
}
SHE = {
    "Emily",
    "Jessica",
    "Ashley",
    "Sarah",
    "Anna",
    "Lena",
    "Sophie",
    "Katrin",
    "Émilie",
    "Hélène",
    "Zoë",
    "Amélie",
    "Lucía",
    "Sofía",
    "Valentina",
    "Camila",
    "Yui",
    "Hina",
    "Sakura",
    "Aoi",
    "Ananya",
    "Diya",
    "Isha",
    "Kavya",
    "Linh",
    "Thảo",
    "Trang",
    "Ngọc",
    "Amelia",
    "Isla",
    "Freya",
    "Siobhán",
    "Niamh",
}
ORGANISATIONS = [
    ("Northwind Traders", "Office manager"),
    ("Contoso Dental", "Practice owner"),
    ("Fabrikam Logistics", "Fleet coordinator"),
    ("Riverside Primary School", "Bursar"),
    ("Tailspin Cafés", "Franchise owner"),
]
ACCESSIBILITY = [
    "Hard of hearing: speak clearly and confirm by e-mail.",
    "Uses a screen reader: send plain-text e-mails, no PDFs.",
    "Wheelchair user: book the step-free entrance for visits.",
    "Prefers short calls; dyslexia, so read out reference numbers slowly.",
]
FACTS = [
    ("family", "Daughter starts university in the autumn."),
    ("family", "Caring for an elderly parent; calls can be interrupted."),
    ("family", "New baby in March - congratulate if they mention it."),
    ("work", "Works night shifts at the hospital; mornings are for sleeping."),
    ("work", "Runs a small bakery; busiest before 10:00."),
    ("interests", "Season ticket holder; talk football, not on match days."),
    ("interests", "Plays cello in a community orchestra."),
    ("interests", "Keen gardener - asked about our outdoor sensor."),
    ("preferences", "Likes a written summary after every call."),
    ("preferences", "Does not want upsell offers."),
    ("preferences", "Prefers to be addressed formally."),
    ("accessibility", "Needs large-print letters."),
    ("other", "Was double-billed in 2025; be extra careful with invoices."),
]
TAGS = ["vip", "small-business", "billing-dispute", "long-time-customer", "new"]
# Serials of demo customers that get a near-identical second record (the same
# phone, a variant spelling): the supervisor's merge queue.
DUPLICATE_SERIALS = [3, 17, 42, 99, 150, 230]


def _phone_for(region: str, serial: int) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for bump in range(200):
        candidate_digits = national[:-4] + f"{(serial * 7 + bump) % 10000:04d}"
        candidate = phonenumbers.parse(f"+{example.country_code}{candidate_digits}")
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _ascii_local(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum())).lower()


def _ascii_name(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Command(BaseCommand):
    help = "Create the demo teams, users, customers, interactions and follow-ups (idempotent)."

    def _categories(self) -> None:
        # Migration interactions/0003 seeds these; a database flushed since (a test
        # harness, an admin's clean-up) must not make the demo fail on a foreign key.
        InteractionCategory = apps.get_model("interactions", "InteractionCategory")
        for position, slug in enumerate(dict.fromkeys(DEMO_CATEGORIES)):
            InteractionCategory.objects.get_or_create(
                slug=slug, defaults={"name": slug.title(), "position": position}
            )

    def handle(self, *args, **options):
        rng = random.Random(20261123)  # noqa: S311 - demo data, not security
        now = timezone.now()
        with transaction.atomic():
            self._categories()
            teams, reps, supervisors = self._people()
            customers = self._customers(rng, reps)
            self._profiles(rng, now, customers, reps)
            self._duplicates(customers, reps)
            customers = [c for c in customers if c.merged_into_id is None]
            interactions = self._interactions(rng, now, customers, reps, teams)
            created_followups = self._followups(rng, now, interactions, teams)
            created_followups += self._history(rng, now, interactions)
            self._feedback(now, interactions)
        # Bulk-created promises get their reminder/escalation schedule, then the
        # overdue flags are brought up to date right away, as the sweep would.
        from followups.schedules import followup_backfill_schedules
        from followups.sweep import followup_sweep

        followup_backfill_schedules(now=now)
        followup_sweep(now=now)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(teams)} teams, {len(reps)} reps, {len(supervisors)} supervisors, "
                f"{Customer.objects.count()} customers, {len(interactions)} demo interactions, "
                f"{created_followups} new follow-ups."
            )
        )
        self.stdout.write("Logins (username / password):")
        self.stdout.write(f"  admin   / {ADMIN_PASSWORD}   (admin)")
        for username, *_ in SUPERVISORS:
            self.stdout.write(f"  {username:<7} / {DEMO_PASSWORD}    (supervisor)")
        for username, *_ in REPS[:3]:
            self.stdout.write(
                f"  {username:<7} / {DEMO_PASSWORD}    (rep; all 10 reps share this password)"
            )

    def _user(
        self, username, first, last, *, is_staff=False, is_superuser=False, password=DEMO_PASSWORD
    ):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@rapport.example",
                "is_staff": is_staff,
                "is_superuser": is_superuser,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user

    def _people(self):
        teams = []
        for name, tz, country in TEAMS:
            team, _ = Team.objects.get_or_create(
                name=name, defaults={"time_zone": tz, "holiday_country": country}
            )
            teams.append(team)
        self._user(
            "admin", "Ada", "Admin", is_staff=True, is_superuser=True, password=ADMIN_PASSWORD
        )
        reps = []
        for index, (username, first, last) in enumerate(REPS):
            user = self._user(username, first, last)
            TeamMembership.objects.get_or_create(
                team=teams[index % 3], user=user, defaults={"role": "rep"}
            )
            reps.append(user)
        supervisors = []
        for index, (username, first, last) in enumerate(SUPERVISORS):
            # Not staff: the Django admin is for admins (supervisors work on the board).
            user = self._user(username, first, last)
            supervised = teams[:2] if index == 0 else teams[2:]
            for team in supervised:
                TeamMembership.objects.get_or_create(
                    team=team, user=user, defaults={"role": "supervisor"}
                )
            supervisors.append(user)
        return teams, reps, supervisors

    def _customers(self, rng, reps):
        existing = dict(
            ContactPoint.objects.filter(
                kind="email", value__endswith="@demo.rapport.example"
            ).values_list("value", "customer_id")
        )
        new_customers, contact_specs = [], []
        for serial in range(CUSTOMER_COUNT):
            region, zones, language, firsts, lasts = LOCALES[serial % len(LOCALES)]
            first = firsts[(serial // len(LOCALES)) % len(firsts)]
            last = lasts[(serial * 3 + serial // 7) % len(lasts)]
            email = f"{_ascii_local(first)}.{_ascii_local(last)}.{serial}@demo.rapport.example"
            if email in existing:
                continue
            customer = Customer(
                full_name=f"{first} {last}",
                search_name=search_text(f"{first} {last}", first if serial % 4 else ""),
                preferred_name=first if serial % 4 else "",
                time_zone=zones[serial % len(zones)],
                preferred_language=language,
                preferred_channel=["phone", "email", "sms", ""][serial % 4],
                owner=reps[serial % len(reps)],
            )
            new_customers.append(customer)
            contact_specs.append((customer, email, _phone_for(region, serial)))
        Customer.objects.bulk_create(new_customers)
        contact_points = []
        for customer, email, phone in contact_specs:
            contact_points.append(
                ContactPoint(
                    customer=customer, kind="email", value=email, label="home", is_primary=True
                )
            )
            contact_points.append(
                ContactPoint(
                    customer=customer, kind="phone", value=phone, label="mobile", is_primary=True
                )
            )
        ContactPoint.objects.bulk_create(contact_points)
        return list(
            Customer.objects.filter(
                contact_points__value__endswith="@demo.rapport.example"
            ).order_by("pk")
        )

    def _profiles(self, rng, now, customers, reps):
        """Pronouns, pronunciation, quiet hours, consent, things to remember...

        A customer without any consent record has not been enriched yet; that
        is the idempotency key (it also upgrades demo data seeded before).
        """
        enriched = set(
            ConsentRecord.objects.filter(customer__in=customers).values_list(
                "customer_id", flat=True
            )
        )
        # The duplicate records stay thin, as a phone system would have made them.
        enriched |= set(
            ContactPoint.objects.filter(
                kind="email", value__startswith="dup-", value__endswith="@demo.rapport.example"
            ).values_list("customer_id", flat=True)
        )
        todo = [c for c in customers if c.pk not in enriched and c.merged_into_id is None]
        if not todo:
            return
        tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
        through = Customer.tags.through
        consents, facts, tag_rows = [], [], []
        for customer in todo:
            # Per-customer generator: the same customer gets the same details
            # whatever else the run does.
            local = random.Random(customer.pk * 7919)  # noqa: S311 - demo data
            first = customer.full_name.split()[0]
            customer.pronunciation = PRONUNCIATIONS.get(first, "")
            if customer.pk % 9 == 0:
                customer.pronouns = "they/them"
            elif customer.pk % 5:
                customer.pronouns = "she/her" if first in SHE else "he/him"
            quiet = customer.pk % 4
            if quiet in (1, 2):
                customer.quiet_hours_start, customer.quiet_hours_end = time(21), time(8)
            elif quiet == 3:
                customer.quiet_hours_start, customer.quiet_hours_end = time(20), time(9)
            if customer.pk % 17 == 0:
                customer.accessibility_needs = ACCESSIBILITY[customer.pk % len(ACCESSIBILITY)]
            if customer.pk % 4 == 0:
                organisation, role = ORGANISATIONS[customer.pk % len(ORGANISATIONS)]
                customer.organisation, customer.organisation_role = organisation, role
            if customer.pk % 3 == 0:
                tag = tags[TAGS[customer.pk % len(TAGS)]]
                tag_rows.append(through(customer_id=customer.pk, tag_id=tag.pk))
            owner_id = customer.owner_id
            asked_at = now - timedelta(days=local.randint(30, 700))
            consents.append(
                ConsentRecord(
                    customer=customer,
                    channel="phone",
                    status="granted",
                    method="verbal",
                    recorded_at=asked_at,
                    recorded_by_id=owner_id,
                )
            )
            consents.append(
                ConsentRecord(
                    customer=customer,
                    channel="email",
                    status="granted",
                    method="web_form",
                    recorded_at=asked_at - timedelta(days=3),
                )
            )
            if customer.pk % 5 == 0:
                consents.append(
                    ConsentRecord(
                        customer=customer,
                        channel="sms",
                        status="withdrawn",
                        method="verbal",
                        note="Asked us to stop texting.",
                        recorded_at=asked_at + timedelta(days=10),
                        recorded_by_id=owner_id,
                    )
                )
            for index, (category, text) in enumerate(local.sample(FACTS, local.randint(1, 3))):
                facts.append(
                    ProfileFact(
                        customer=customer,
                        category=category,
                        text=text,
                        is_pinned=index == 0,
                        recorded_by_id=owner_id,
                        recorded_at=now - timedelta(days=local.randint(1, 300)),
                    )
                )
        Customer.objects.bulk_update(
            todo,
            [
                "pronunciation",
                "pronouns",
                "quiet_hours_start",
                "quiet_hours_end",
                "accessibility_needs",
                "organisation",
                "organisation_role",
            ],
            batch_size=500,
        )
        through.objects.bulk_create(tag_rows, ignore_conflicts=True)
        ConsentRecord.objects.bulk_create(consents, batch_size=1000)
        ProfileFact.objects.bulk_create(facts, batch_size=1000)
        ProfileFactRevision.objects.bulk_create(
            [
                ProfileFactRevision(
                    fact=fact,
                    action="created",
                    category=fact.category,
                    text=fact.text,
                    is_pinned=fact.is_pinned,
                    changed_by_id=fact.recorded_by_id,
                    changed_at=fact.recorded_at,
                )
                for fact in facts
            ],
            batch_size=1000,
        )

    def _duplicates(self, customers, reps):
        """A second record for a few customers, as a phone system or an import
        would make it: the same number, the name spelt without accents."""
        by_serial = {}
        for value, customer_id in ContactPoint.objects.filter(
            kind="email", value__endswith="@demo.rapport.example"
        ).values_list("value", "customer_id"):
            local_part = value.split("@")[0]
            if local_part.startswith("dup-"):
                by_serial.setdefault(("dup", int(local_part[4:])), customer_id)
            else:
                by_serial.setdefault(("original", int(local_part.rsplit(".", 1)[1])), customer_id)
        originals = {c.pk: c for c in customers}
        for serial in DUPLICATE_SERIALS:
            if ("dup", serial) in by_serial:
                continue
            original = originals.get(by_serial.get(("original", serial)))
            if original is None:
                continue
            phone = original.contact_points.filter(kind="phone", is_primary=True).first()
            name = _ascii_name(original.full_name)
            duplicate = Customer(
                full_name=name,
                search_name=search_text(name),
                time_zone=original.time_zone,
                preferred_language=original.preferred_language,
            )
            duplicate.save()
            if phone is not None:
                ContactPoint.objects.create(
                    customer=duplicate,
                    kind="phone",
                    value=phone.value,
                    label="work",
                    is_primary=True,
                )
            ContactPoint.objects.create(
                customer=duplicate,
                kind="email",
                value=f"dup-{serial}@demo.rapport.example",
                label="work",
                is_primary=True,
            )

    def _interactions(self, rng, now, customers, reps, teams):
        Interaction = apps.get_model("interactions", "Interaction")
        existing = set(
            Interaction.objects.filter(source=DEMO_SOURCE).values_list("external_id", flat=True)
        )
        channels, weights = zip(*CHANNEL_WEIGHTS, strict=True)
        rep_team = {rep.pk: teams[index % 3] for index, rep in enumerate(reps)}
        new_rows = []
        for serial in range(INTERACTION_COUNT):
            external_id = f"demo-{serial}"
            channel = rng.choices(channels, weights)[0]
            rep = rng.choice(reps)
            customer = rng.choice(customers)
            occurred_at = now - timedelta(minutes=rng.randint(5, 90 * 24 * 60))
            outcome = rng.choice(OUTCOMES) if channel != "email" else rng.choice(OUTCOMES[:3])
            if external_id in existing:
                continue
            new_rows.append(
                Interaction(
                    customer=customer,
                    channel=channel,
                    direction=rng.choice(["inbound", "inbound", "outbound"]),
                    occurred_at=occurred_at,
                    duration_seconds=rng.randint(30, 1800)
                    if channel in ("phone", "video", "in_person")
                    else 0,
                    rep=rep,
                    team=rep_team[rep.pk],
                    summary=rng.choice(SUMMARIES),
                    outcome=outcome,
                    source=DEMO_SOURCE,
                    external_id=external_id,
                    # Derived from the serial (H2): categories and sentiment do not shift rng.
                    category_id=DEMO_CATEGORIES[(serial * 7919) % len(DEMO_CATEGORIES)],
                    sentiment=DEMO_SENTIMENTS[(serial * 104729) % len(DEMO_SENTIMENTS)],
                )
            )
        created = Interaction.objects.bulk_create(new_rows, batch_size=1000)
        # Group the new contacts into matters (repeat contacts, FCR) as if logged one by one.
        from interactions.matters import interaction_matters_assign

        interaction_matters_assign(interaction_ids=[row.pk for row in created if row.pk])
        return list(Interaction.objects.filter(source=DEMO_SOURCE).order_by("pk"))

    def _followups(self, rng, now, interactions, teams):
        FollowUp = apps.get_model("followups", "FollowUp")
        promised = [i for i in interactions if i.outcome == "promise_made"]
        rng.shuffle(promised)
        # Bare loop over origins keeps the run stable: the same interactions each time.
        promised = sorted(promised, key=lambda i: i.pk)[:FOLLOWUP_COUNT]
        if len(promised) < FOLLOWUP_COUNT:
            promised += [i for i in interactions if i.outcome != "promise_made"][
                : FOLLOWUP_COUNT - len(promised)
            ]
        already = set(
            FollowUp.objects.filter(origin_interaction__in=promised).values_list(
                "origin_interaction_id", flat=True
            )
        )
        rows = []
        for index, interaction in enumerate(promised):
            if interaction.pk in already:
                continue
            # A spread a rep recognises on Monday: some overdue, some due today, most upcoming.
            bucket = index % 10
            if bucket < 2:
                due_at = now - timedelta(hours=rng.randint(1, 96))
            elif bucket < 4:
                due_at = now + timedelta(minutes=rng.randint(30, 8 * 60))
            else:
                due_at = now + timedelta(hours=rng.randint(12, 14 * 24))
            is_done = bucket == 9
            rows.append(
                FollowUp(
                    customer_id=interaction.customer_id,
                    origin_interaction=interaction,
                    owner=interaction.rep,
                    team=interaction.team,
                    action=rng.choice(PROMISES),
                    due_at=due_at,
                    status="done" if is_done else "open",
                    next_action_at=None if is_done else due_at,
                    completed_at=now if is_done else None,
                )
            )
        FollowUp.objects.bulk_create(rows, batch_size=1000)
        return len(rows)

    def _history(self, rng, now, interactions):
        """Decided promises from the past weeks (HISTORY_PATTERN), one per older contact
        that has none: kept on time, kept late, renegotiated, missed, cancelled."""
        FollowUp = apps.get_model("followups", "FollowUp")
        used = set(
            FollowUp.objects.filter(origin_interaction__isnull=False).values_list(
                "origin_interaction_id", flat=True
            )
        )
        # Stable candidates: contacts more than a week old, by id (the same each run),
        # other than the "promise made" ones today's promises (_followups) come from.
        candidates = [
            i
            for i in interactions
            if i.occurred_at < now - timedelta(days=7)
            and i.customer_id
            and i.rep_id
            and i.outcome != "promise_made"
        ][::3][:HISTORY_FOLLOWUP_COUNT]
        rows = []
        for index, interaction in enumerate(candidates):
            if interaction.pk in used:
                continue
            local = random.Random(interaction.pk * 31337)  # noqa: S311 - demo data
            kind = HISTORY_PATTERN[index % len(HISTORY_PATTERN)]
            due_at = interaction.occurred_at + timedelta(hours=local.randint(4, 96))
            fields = {
                "customer_id": interaction.customer_id,
                "origin_interaction": interaction,
                "owner_id": interaction.rep_id,
                "team_id": interaction.team_id,
                "action": local.choice(PROMISES),
                "due_at": due_at,
                "status": "done",
                "next_action_at": None,
            }
            if kind == "on_time":
                fields["completed_at"] = due_at - timedelta(minutes=local.randint(10, 240))
                fields["is_kept_on_time"] = True
            elif kind == "late":
                fields["completed_at"] = min(
                    due_at + timedelta(hours=local.randint(1, 60)), now - timedelta(hours=1)
                )
                fields["is_kept_on_time"] = False
            elif kind == "renegotiated":
                fields["original_due_at"] = due_at
                fields["due_at"] = due_at + timedelta(days=2)
                fields["renegotiation_count"] = 1
                fields["completed_at"] = due_at + timedelta(days=1)
                fields["is_kept_on_time"] = True
            elif kind == "missed":
                fields["status"] = "open"
                fields["next_action_at"] = due_at
            else:
                fields["status"] = "cancelled"
                fields["cancel_reason"] = "The customer sorted it out themselves."
            if fields.get("completed_at"):
                fields["completed_at"] = max(
                    fields["completed_at"], interaction.occurred_at + timedelta(minutes=5)
                )
                fields["completed_by_id"] = interaction.rep_id
            rows.append(FollowUp(**fields))
        FollowUp.objects.bulk_create(rows, batch_size=1000)
        return len(rows)

    def _feedback(self, now, interactions):
        """CSAT answers for about a third of the contacts that can be rated (a customer,
        not a missed call), asked an hour after the contact."""
        Feedback = apps.get_model("interactions", "Feedback")
        Interaction = apps.get_model("interactions", "Interaction")
        answered = set(
            Feedback.objects.filter(interaction__source=DEMO_SOURCE).values_list(
                "interaction_id", flat=True
            )
        )
        rateable = [
            i
            for i in interactions
            if i.customer_id
            and i.outcome not in ("no_answer", "voicemail")
            and i.occurred_at < now - timedelta(days=1)
        ]
        asked, rows = [], []
        for index, interaction in enumerate(rateable):
            if index % 2 and interaction.feedback_requested_at is None:
                interaction.feedback_requested_at = interaction.occurred_at + timedelta(hours=1)
                asked.append(interaction)
            if index % FEEDBACK_EVERY or interaction.pk in answered:
                continue
            if interaction.feedback_requested_at is None:
                interaction.feedback_requested_at = interaction.occurred_at + timedelta(hours=1)
                asked.append(interaction)
            rows.append(
                Feedback(
                    interaction=interaction,
                    matter_id=interaction.matter_id,
                    score=FEEDBACK_SCORES[(interaction.pk * 7) % len(FEEDBACK_SCORES)],
                )
            )
        Interaction.objects.bulk_update(asked, ["feedback_requested_at"], batch_size=1000)
        Feedback.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
