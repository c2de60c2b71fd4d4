"""Realistic demo data: `python manage.py seed_demo`. Safe to run twice.

Every row has a stable key (username, team name, customer e-mail,
interaction source+external_id, follow-up origin interaction), so a second
run finds what the first made and adds nothing.
"""

import random
from datetime import timedelta

import phonenumbers
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.models import ContactPoint, Customer, Team, TeamMembership

DEMO_PASSWORD = "rapport-demo"  # noqa: S105 - printed to the operator on purpose
ADMIN_PASSWORD = "rapport-admin"  # noqa: S105
CUSTOMER_COUNT = 500
INTERACTION_COUNT = 5000
FOLLOWUP_COUNT = 800
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


class Command(BaseCommand):
    help = "Create the demo teams, users, customers, interactions and follow-ups (idempotent)."

    def handle(self, *args, **options):
        rng = random.Random(20261123)  # noqa: S311 - demo data, not security
        now = timezone.now()
        with transaction.atomic():
            teams, reps, supervisors = self._people()
            customers = self._customers(rng, reps)
            interactions = self._interactions(rng, now, customers, reps, teams)
            created_followups = self._followups(rng, now, interactions, teams)
        # Bring overdue flags up to date right away, as the sweep would.
        from followups.services import followup_sweep

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
            user = self._user(username, first, last, is_staff=True)
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
                )
            )
        Interaction.objects.bulk_create(new_rows, batch_size=1000)
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
