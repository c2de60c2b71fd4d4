"""Benchmark for issue 16: every list's first page stays flat in table size.

    python -m benchmarks.lists [--interactions 10000000] [--small 10000]
                               [--samples 15] [--rounds 3] [--rebuild] [--drop]

Two throw-away PostgreSQL databases, `<DATABASE_URL db>_bench_lists_<rows>`,
one with `--small` interactions and one with `--interactions`, each with
proportionate customers (one per 20 interactions, two contact points each),
follow-ups (one per 10 interactions, of which a fixed working set of 4,000 is
open), their events, notifications and webhook deliveries, built set-based in
SQL (INSERT ... SELECT generate_series, copying every column not varied from a
template row the ORM made, secondary indexes dropped during the load and
rebuilt after, as for a bulk import). A database already built at its size is
reused (`--rebuild` builds it again); both are kept for the next run (about
7 GB at 10 million) unless `--drop` drops them at the end.

Then every list of the API, of the rep-facing pages and of the admin's big
tables is requested through Django's test client (the whole middleware,
authentication, DRF and template stack), first page, common filters,
page-number and cursor modes: rounds alternate between the two databases so
both sizes see the same machine load. Writes var/bench/lists.md: medians per
list at each size, the ratio (goal: <= 2x from the small to the large table),
the part spent in SQL, what each page answered (its `count`, its rows: a
filter may fill fewer rows of the small database's page), and EXPLAIN
(ANALYZE, BUFFERS) of the slowest query of any list that is not flat. Numbers
on a shared 2-core machine are recorded, not asserted.
"""

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse, urlunparse

import psycopg

from benchmarks.common import bench_database_url, ensure_database
from benchmarks.crm_search import AREA_CODES, FIRST_NAMES, SYLLABLES, array_sql

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "lists.md"
GOAL_RATIO = 2.0
TEAMS = 20
REPS_PER_TEAM = 10
# Open promises are the work in hand (about 20 per rep), not history: the same
# at both sizes, while closed ones grow with the interaction log.
OPEN_PROMISES = 4_000
# Rows per INSERT ... SELECT: set-based, yet small enough to show progress.
CHUNK = 1_000_000
# Three years of history, whatever the size: a bigger table has more rows a day.
HISTORY_SECONDS = 3 * 365 * 24 * 3600
BUILD_TABLE = "bench_lists_build"
# Tables whose secondary indexes are dropped during the load and rebuilt after.
LOADED_TABLES = [
    "crm_customer",
    "crm_customernameword",
    "crm_contactpoint",
    "crm_contactvaluecount",
    "crm_customer_tags",
    "crm_consentrecord",
    "crm_profilefact",
    "interactions_matter",
    "interactions_interaction",
    "followups_followup",
    "followups_followupevent",
    "followups_notification",
    "followups_webhookdelivery",
]


# --- the data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    interactions: int

    @property
    def customers(self) -> int:
        return max(500, self.interactions // 20)

    @property
    def followups(self) -> int:
        return max(2 * OPEN_PROMISES, self.interactions // 10)

    @property
    def matters(self) -> int:
        return self.interactions // 20


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s AND column_name <> 'id' AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def copy_rows(
    cursor,
    table: str,
    template_id: int,
    overrides: dict[str, str],
    source: str,
    where: str = "true",
) -> int:
    """INSERT INTO `table` one row per row of `source` (FROM items) that meets `where`: the
    override expressions for some columns, the template row's value for the rest
    (so every column the schema adds later is filled as the ORM filled it)."""
    columns = _columns(cursor, table)
    unknown = set(overrides) - set(columns)
    if unknown:
        raise RuntimeError(f"{table} has no column {', '.join(sorted(unknown))}")
    values = [overrides.get(column, f't."{column}"') for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)}) "  # noqa: S608 - our own names
        f"SELECT {', '.join(values)} FROM {table} t, {source} "
        f"WHERE t.id = {int(template_id)} AND ({where})"
    )
    return cursor.rowcount


def _drop_secondary_indexes(cursor) -> list[str]:
    """Drop the indexes of LOADED_TABLES that back no constraint; return their definitions."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [LOADED_TABLES],
    )
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def _step(label: str, started: float) -> None:
    print(f"  {label} ({time.perf_counter() - started:.0f} s)", flush=True)


def build(shape: Shape) -> float:
    """Fill a freshly migrated database; returns the seconds it took."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from crm.models import ConsentRecord, Customer, ProfileFact, Tag, Team, TeamMembership
    from followups.models import FollowUp, FollowUpEvent, Notification, WebhookDelivery
    from followups.webhooks import webhook_endpoint_create
    from interactions.models import Interaction, Matter

    started = time.perf_counter()
    User = get_user_model()  # noqa: N806
    anchor = datetime.now(UTC) - timedelta(minutes=10)
    at = f"'{anchor.isoformat()}'::timestamptz"
    # People: one admin; per team a supervisor and REPS_PER_TEAM reps (no password:
    # the benchmark signs them in with force_login).
    admin = User.objects.create(username="bench-admin", is_superuser=True, is_staff=True)
    admin.set_unusable_password()
    admin.save(update_fields=["password"])
    teams = Team.objects.bulk_create(Team(name=f"Team {index}") for index in range(TEAMS))
    supervisors = User.objects.bulk_create(
        User(username=f"bench-sup{index}", password=make_password(None)) for index in range(TEAMS)
    )
    reps = User.objects.bulk_create(
        User(username=f"bench-rep{index}", password=make_password(None))
        for index in range(TEAMS * REPS_PER_TEAM)
    )
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, user=user, role="supervisor") for team, user in zip(teams, supervisors, strict=True)]
        + [TeamMembership(team=teams[index % TEAMS], user=user, role="rep") for index, user in enumerate(reps)]
    )  # fmt: skip
    rep_ids = "ARRAY[" + ",".join(str(user.pk) for user in reps) + "]"
    rep_teams = "ARRAY[" + ",".join(str(teams[i % TEAMS].pk) for i in range(len(reps))) + "]"
    vip = Tag.objects.create(name="vip")
    endpoint = webhook_endpoint_create(
        url="https://hooks.example.com/rapport", created_by=admin, description="bench"
    ).endpoint
    quiet = webhook_endpoint_create(
        url="https://quiet.example.com/rapport", created_by=admin, description="bench, few"
    ).endpoint

    # Templates: one row per table made by the ORM; copies take every column not varied.
    template_customer = Customer.objects.create(full_name="Template", time_zone="UTC")
    template_interaction = Interaction.objects.create(
        customer=template_customer, channel="phone", direction="inbound", occurred_at=anchor
    )
    template_matter = Matter.objects.create(
        customer=template_customer, opened_at=anchor, last_contact_at=anchor
    )
    template_followup = FollowUp.objects.create(
        customer=template_customer, owner=reps[0], action="Call back with the refund date",
        due_at=anchor,
    )  # fmt: skip
    template_event = FollowUpEvent.objects.create(
        followup=template_followup, kind="remind", occurred_at=anchor
    )
    template_notification = Notification.objects.create(
        recipient=reps[0], followup=template_followup, event=template_event, channel="in_app",
        kind="remind", created_at=anchor,
    )  # fmt: skip
    template_delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=template_event, event_type="followup.reminded",
        webhook_id="msg_template", occurred_at=anchor, created_at=anchor,
    )  # fmt: skip
    template_consent = ConsentRecord.objects.create(
        customer=template_customer, channel="email", status="granted", method="verbal",
        recorded_at=anchor,
    )  # fmt: skip
    template_fact = ProfileFact.objects.create(
        customer=template_customer, text="Daughter starts school in September.", recorded_at=anchor
    )  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        definitions = _drop_secondary_indexes(cursor)
        _step(f"dropped {len(definitions)} secondary indexes", started)

        # Customers, with crm_customer's triggers on (they write the name words).
        n_first, n_syl, n_area = len(FIRST_NAMES), len(SYLLABLES), len(AREA_CODES)
        name = (
            f"({array_sql(FIRST_NAMES)})[1 + (g * 31) % {n_first}] || ' ' || "
            f"initcap(({array_sql(SYLLABLES)})[1 + (g * 7) % {n_syl}] || "
            f"({array_sql(SYLLABLES)})[1 + (g * 13 / {n_syl}) % {n_syl}] || "
            f"({array_sql(SYLLABLES)})[1 + (g * 17 / ({n_syl} * {n_syl})) % {n_syl}])"
        )
        copy_rows(
            cursor,
            "crm_customer",
            template_customer.pk,
            {
                "full_name": name,
                "search_name": f"lower(unaccent({name}))",
                "time_zone": "(ARRAY['America/New_York','Europe/London','Asia/Tokyo'])[1 + g % 3]",
                "preferred_language": "(ARRAY['en-US','en-US','en-GB','de-DE','fr-FR','es-ES'])[1 + g % 6]",
                "preferred_channel": "(ARRAY['phone','email','sms','in_person',''])[1 + g % 5]",
                "owner_id": f"CASE WHEN g % 3 = 0 THEN ({rep_ids})[1 + g % {len(reps)}] END",
                "created_at": f"{at} - ({shape.customers} - g) * interval '1 minute'",
                "updated_at": f"{at} - ({shape.customers} - g) * interval '1 minute'",
                "last_activity_at": f"{at} - ((g * 7919) % 100000) * interval '1 minute'",
            },
            f"generate_series(1::bigint, {shape.customers}) g",
        )
        first_customer = template_customer.pk + 1
        _step(f"{shape.customers:,} customers", started)
        # A phone and an e-mail each; every 50th customer shares the phone of the one
        # before (a household), which is what the duplicates queue lists.
        phone_of = "(c.id - (c.id % 50 = 0)::int)"
        cursor.execute(
            "INSERT INTO crm_contactpoint (customer_id, kind, label, value, extension, is_primary, created_at) "  # noqa: S608
            f"SELECT c.id, 'phone', 'mobile', '+1' || ({array_sql(AREA_CODES)})[1 + {phone_of} % {n_area}] "
            f"|| (200 + ({phone_of} / {n_area}) % 800)::text "
            f"|| lpad((({phone_of} / ({n_area} * 800)) % 10000)::text, 4, '0'), '', true, c.created_at "
            f"FROM crm_customer c WHERE c.id >= {first_customer} "
            "UNION ALL "
            "SELECT c.id, 'email', 'home', 'customer' || c.id || '@example' || (c.id % 97) || '.com', "
            f"'', true, c.created_at FROM crm_customer c WHERE c.id >= {first_customer}"
        )
        # Generated consistent: no foreign-key checks from here (crm_contactpoint's
        # triggers, which count its values for the merge queue, ran above).
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "INSERT INTO crm_customer_tags (customer_id, tag_id) "  # noqa: S608
            f"SELECT id, {vip.pk} FROM crm_customer WHERE id >= {first_customer} "
            "AND abs(hashint8extended(id, 7)) % 100 = 0"
        )
        copy_rows(
            cursor,
            "crm_consentrecord",
            template_consent.pk,
            {"customer_id": "c.id", "recorded_at": "c.created_at"},
            "crm_customer c",
            f"c.id >= {first_customer} AND c.id % 10 = 0",
        )
        copy_rows(
            cursor,
            "crm_profilefact",
            template_fact.pk,
            {"customer_id": "c.id", "recorded_at": "c.created_at", "updated_at": "c.created_at"},
            "crm_customer c",
            f"c.id >= {first_customer} AND c.id % 10 = 0",
        )
        _step("contact points, tags, consents, facts", started)

        # Interaction g (1..N) is newer the larger g; its customer a fixed
        # permutation (each has N / customers), its rep one of the reps (and
        # that rep's team). Every 20th opens a matter.
        customer_of = f"{first_customer} + (g::bigint * 104729) % {shape.customers}"
        occurred = f"{at} - ({shape.interactions} - g)::float8 * {HISTORY_SECONDS / shape.interactions} * interval '1 second'"
        # PostgreSQL's own hash of g, seeded twice, picks the rep and the channel,
        # direction and category, so that none of them goes with another or with
        # the customer (a customer's contacts are with any rep).
        rep_pick = f"(1 + abs(hashint8extended(g, 1)) % {len(reps)})::int"
        h = "abs(hashint8extended(g, 2))"
        copy_rows(
            cursor,
            "interactions_matter",
            template_matter.pk,
            {
                "customer_id": f"{first_customer} + (m * 20 * 104729::bigint) % {shape.customers}",
                "category_id": "(ARRAY['complaint','question','request','feedback','praise','other'])[1 + m % 6]",
                "status": "CASE WHEN m % 4 = 0 THEN 'open' ELSE 'resolved' END",
                "opened_at": f"{at} - ({shape.interactions} - m * 20)::float8 * {HISTORY_SECONDS / shape.interactions} * interval '1 second'",
                "last_contact_at": f"{at} - ({shape.interactions} - m * 20)::float8 * {HISTORY_SECONDS / shape.interactions} * interval '1 second'",
                "contact_count": "1",
                "resolved_at": "CASE WHEN m % 4 = 0 THEN NULL ELSE "
                f"{at} - ({shape.interactions} - m * 20)::float8 * {HISTORY_SECONDS / shape.interactions} * interval '1 second' END",
                "created_at": f"{at} - ({shape.interactions} - m * 20)::float8 * {HISTORY_SECONDS / shape.interactions} * interval '1 second'",
                "updated_at": f"{at} - ({shape.interactions} - m * 20)::float8 * {HISTORY_SECONDS / shape.interactions} * interval '1 second'",
            },
            f"generate_series(1::bigint, {shape.matters}) m",
        )
        first_matter = template_matter.pk + 1
        _step(f"{shape.matters:,} matters", started)
        done = 0
        while done < shape.interactions:
            count = min(CHUNK, shape.interactions - done)
            copy_rows(
                cursor,
                "interactions_interaction",
                template_interaction.pk,
                {
                    "customer_id": customer_of,
                    "channel": f"CASE WHEN {h} % 100 < 40 THEN 'phone' WHEN {h} % 100 < 70 THEN 'email' "
                    f"WHEN {h} % 100 < 80 THEN 'in_person' WHEN {h} % 100 < 90 THEN 'chat' "
                    f"WHEN {h} % 100 < 95 THEN 'sms' ELSE 'video' END",
                    "direction": f"CASE WHEN {h} / 100 % 5 < 3 THEN 'inbound' ELSE 'outbound' END",
                    "occurred_at": occurred,
                    "duration_seconds": "60 + g % 900",
                    "rep_id": f"({rep_ids})[{rep_pick}]",
                    "team_id": f"({rep_teams})[{rep_pick}]",
                    "category_id": f"CASE WHEN {h} / 500 % 10 >= 4 THEN "
                    f"(ARRAY['complaint','question','request','feedback','praise','other'])[{h} / 500 % 10 - 3] END",
                    "matter_id": f"CASE WHEN g % 20 = 0 THEN {first_matter} + g / 20 - 1 END",
                    "outcome": "(ARRAY['resolved','information_given','promise_made','no_answer'])[1 + g % 4]",
                    "subject": "'Subject ' || g",
                    "summary": "'Called about the invoice; explained the tariff change. ' || g",
                    "source": "'bench'",
                    "external_id": "'b' || g",
                    "created_at": occurred,
                    "updated_at": f"{occurred} + interval '1 minute'",
                },
                f"generate_series({done + 1}::bigint, {done + count}) g",
            )
            done += count
            _step(f"{done:,} interactions", started)

        # Promises: the newest OPEN_PROMISES open (a quarter overdue, some of
        # those escalated), the rest closed over the three years.
        closed = shape.followups - OPEN_PROMISES
        k = f"(g - {closed})"  # 1..OPEN_PROMISES for the open ones
        due = (
            f"CASE WHEN g <= {closed} THEN {at} - ({closed} - g)::float8 * "
            f"{HISTORY_SECONDS / closed} * interval '1 second' - interval '1 hour' "
            f"ELSE {at} + ({k} - {OPEN_PROMISES // 4}) * interval '5 minutes' END"
        )
        is_open = f"g > {closed}"
        is_overdue = f"({is_open} AND {k} <= {OPEN_PROMISES // 4})"
        level = f"CASE WHEN {is_overdue} THEN {k} % 3 ELSE 0 END"
        copy_rows(
            cursor,
            "followups_followup",
            template_followup.pk,
            {
                "customer_id": f"{first_customer} + (g::bigint * 7877) % {shape.customers}",
                "owner_id": f"({rep_ids})[{rep_pick}]",
                "team_id": f"({rep_teams})[{rep_pick}]",
                "due_at": due,
                "original_due_at": due,
                "status": f"CASE WHEN {is_open} THEN 'open' WHEN g % 50 = 0 THEN 'cancelled' ELSE 'done' END",
                "remind_at": f"({due}) - interval '1 hour'",
                "escalate_1_at": f"({due}) + interval '4 hours'",
                "escalate_2_at": f"({due}) + interval '16 hours'",
                "next_action_at": f"CASE WHEN NOT {is_open} THEN NULL "
                f"WHEN NOT {is_overdue} THEN ({due}) - interval '1 hour' "
                f"ELSE GREATEST(({due}) + interval '16 hours', {at} + interval '1 hour') END",
                "is_reminded": f"NOT {is_open} OR {is_overdue}",
                "is_overdue": is_overdue,
                "escalation_level": level,
                "completed_at": f"CASE WHEN NOT {is_open} AND g % 50 <> 0 THEN ({due}) - (g % 7 - 2) * interval '1 hour' END",
                "is_kept_on_time": f"CASE WHEN NOT {is_open} AND g % 50 <> 0 THEN g % 7 >= 2 END",
                "cancel_reason": f"CASE WHEN NOT {is_open} AND g % 50 = 0 THEN 'Customer withdrew' ELSE '' END",
                "created_at": f"({due}) - interval '2 days'",
                "updated_at": f"CASE WHEN {is_open} THEN ({due}) - interval '2 days' ELSE ({due}) + interval '5 hours' END",
            },
            f"generate_series(1::bigint, {shape.followups}) g",
        )
        _step(f"{shape.followups:,} follow-ups", started)
        # Each promise was reminded (one event, one in-app notification to its owner,
        # one webhook delivery); the escalated open ones have their escalations.
        copy_rows(
            cursor,
            "followups_followupevent",
            template_event.pk,
            {"followup_id": "f.id", "occurred_at": "f.remind_at", "scheduled_at": "f.remind_at"},
            "followups_followup f",
            f"f.id > {template_followup.pk} AND f.is_reminded",
        )
        copy_rows(
            cursor,
            "followups_followupevent",
            template_event.pk,
            {
                "followup_id": "f.id",
                "kind": "'escalate'",
                "level": "l",
                "occurred_at": "CASE l WHEN 1 THEN f.escalate_1_at ELSE f.escalate_2_at END",
                "scheduled_at": "CASE l WHEN 1 THEN f.escalate_1_at ELSE f.escalate_2_at END",
            },
            "followups_followup f CROSS JOIN generate_series(1, 2) l",
            f"f.id > {template_followup.pk} AND f.status = 'open' AND f.escalation_level >= l",
        )
        reminders = "followups_followupevent e JOIN followups_followup f ON f.id = e.followup_id"
        reminded = f"e.id > {template_event.pk} AND e.kind = 'remind'"
        copy_rows(
            cursor,
            "followups_notification",
            template_notification.pk,
            {
                "recipient_id": "f.owner_id",
                "followup_id": "f.id",
                "event_id": "e.id",
                "created_at": "e.occurred_at",
                # One in twenty never read.
                "read_at": "CASE WHEN e.id % 20 <> 0 THEN e.occurred_at + interval '1 hour' END",
                "delivery_status": "'sent'",
                "message_key": "gen_random_uuid()",
            },
            reminders,
            reminded,
        )
        copy_rows(
            cursor,
            "followups_webhookdelivery",
            template_delivery.pk,
            {
                "endpoint_id": f"CASE WHEN e.id % 1000 = 0 THEN {quiet.pk} ELSE {endpoint.pk} END",
                "event_id": "e.id",
                "webhook_id": "'msg_' || e.id",
                "status": "'sent'",
                "attempts": "1",
                "last_status_code": "200",
                "occurred_at": "e.occurred_at",
                "created_at": "e.occurred_at",
                "delivered_at": "e.occurred_at + interval '2 seconds'",
            },
            reminders,
            reminded,
        )
        _step("events, notifications, webhook deliveries", started)
        cursor.execute("SET session_replication_role = DEFAULT")
        for table, pk in [
            ("followups_webhookdelivery", template_delivery.pk),
            ("followups_notification", template_notification.pk),
            ("followups_followupevent", template_event.pk),
            ("followups_followup", template_followup.pk),
            ("interactions_interaction", template_interaction.pk),
            ("interactions_matter", template_matter.pk),
            ("crm_consentrecord", template_consent.pk),
            ("crm_profilefact", template_fact.pk),
            ("crm_customer", template_customer.pk),
        ]:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608
        for definition in definitions:
            cursor.execute(definition)
        _step(f"rebuilt {len(definitions)} indexes", started)
        for table in LOADED_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")
        _step("vacuumed and analysed", started)
        seconds = time.perf_counter() - started
        cursor.execute(
            f"CREATE TABLE {BUILD_TABLE} (interactions bigint, seconds float8, built_at timestamptz)"
        )
        cursor.execute(
            f"INSERT INTO {BUILD_TABLE} VALUES (%s, %s, now())", [shape.interactions, seconds]
        )
    return seconds


def built_seconds(url: str, shape: Shape) -> float | None:
    """How long the build of this database took, or None if it is not (completely) built."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [BUILD_TABLE]).fetchone()[0]
        if exists is None:
            return None
        row = conn.execute(f"SELECT interactions, seconds FROM {BUILD_TABLE}").fetchone()  # noqa: S608
    return row[1] if row and row[0] == shape.interactions else None


def use_database(url: str) -> None:
    """Point Django's default connection at another database (same server)."""
    from django.db import connections

    connection = connections["default"]
    connection.close()
    connection.settings_dict["NAME"] = urlparse(url).path.lstrip("/")


def setup_django(url: str) -> None:
    """Django on `url`, not yet connected (benchmarks.common's also migrates)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    # One JSON line per request would drown the figures (config/structured_logs.py).
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def prepare(url: str, shape: Shape, *, rebuild: bool) -> float:
    """Migrate the database and build its data unless already built; the build's seconds."""
    from django.core.management import call_command
    from django.db import DatabaseError, connections

    connections["default"].close()
    ensure_database(url, recreate=False)
    seconds = None if rebuild else built_seconds(url, shape)
    if seconds is None:
        ensure_database(url, recreate=True)
    use_database(url)
    try:
        call_command("migrate", verbosity=0)
    except DatabaseError as exc:
        if seconds is None:
            raise
        # Built by an older checkout whose migrations this one cannot follow.
        print(f"migrating the reused database failed ({exc}); building it again", flush=True)
        connections["default"].close()
        ensure_database(url, recreate=True)
        call_command("migrate", verbosity=0)
        seconds = None
    if seconds is None:
        print(
            f"building {urlparse(url).path.lstrip('/')}: {shape.interactions:,} interactions",
            flush=True,
        )
        seconds = build(shape)
    return seconds


def table_rows() -> dict[str, int]:
    from django.db import connection

    tables = [
        "crm_customer", "crm_contactpoint", "interactions_interaction", "interactions_matter",
        "followups_followup", "followups_followupevent", "followups_notification",
        "followups_webhookdelivery",
    ]  # fmt: skip
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            rows[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM followups_followup WHERE status = 'open'")
        rows["open follow-ups"] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        rows["database size"] = cursor.fetchone()[0]
    return rows


# --- the lists -------------------------------------------------------------------------


@dataclass
class Fixtures:
    """The ids and values the URLs name, read from one database."""

    admin: object
    rep: object
    supervisor: object
    team_id: int
    rep_id: int
    customer_id: int
    customer_name: str
    phone: str
    email: str
    matter_id: int
    endpoint_id: int
    clients: dict = field(default_factory=dict)


def fixtures() -> Fixtures:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from crm.models import ContactPoint, Customer, TeamMembership
    from followups.models import WebhookEndpoint
    from interactions.models import Matter

    User = get_user_model()  # noqa: N806
    rep = User.objects.get(username="bench-rep0")
    membership = TeamMembership.objects.get(user=rep)
    supervisor = TeamMembership.objects.get(team=membership.team, role="supervisor").user
    # A customer in the middle of the table, as likely to be asked for as any.
    customers = Customer.objects.order_by("pk").values_list("pk", flat=True)
    customer = Customer.objects.get(pk=customers[customers.count() // 2])
    found = Fixtures(
        admin=User.objects.get(username="bench-admin"),
        rep=rep,
        supervisor=supervisor,
        team_id=membership.team_id,
        rep_id=rep.pk,
        customer_id=customer.pk,
        customer_name=customer.full_name,
        phone=ContactPoint.objects.get(customer=customer, kind="phone").value,
        email=ContactPoint.objects.get(customer=customer, kind="email").value,
        matter_id=Matter.objects.order_by("-pk").values_list("pk", flat=True).first(),
        endpoint_id=WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True).first(),
    )
    for who in ("admin", "rep", "supervisor"):
        client = Client(HTTP_HOST="localhost")
        client.force_login(getattr(found, who))
        found.clients[who] = client
    return found


@dataclass(frozen=True)
class Case:
    name: str
    who: str
    path: str  # format fields: the Fixtures' attributes
    # Follow `next` this many times first: the timed request is that page.
    follow_next: int = 0

    def url(self, fixture: Fixtures) -> str:
        values = {
            name: quote(value, safe="") if isinstance(value, str) else value
            for name, value in vars(fixture).items()
        }
        return self.path.format(**values)


def _recent(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cases() -> list[Case]:
    week_ago = _recent(24 * 7)
    hour_ago = _recent(1)
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    feed_start = urlencode({"updated_since": "2000-01-01T00:00:00Z"})
    return [
        # /api/v1/interactions/
        Case("API interactions", "admin", "/api/v1/interactions/"),
        Case("API interactions ?channel=sms", "admin", "/api/v1/interactions/?channel=sms"),
        Case("API interactions ?direction=outbound", "admin", "/api/v1/interactions/?direction=outbound"),
        Case("API interactions ?category=complaint", "admin", "/api/v1/interactions/?category=complaint"),
        Case("API interactions ?rep=", "admin", "/api/v1/interactions/?rep={rep_id}"),
        Case("API interactions ?team=", "admin", "/api/v1/interactions/?team={team_id}"),
        Case("API interactions ?customer=", "admin", "/api/v1/interactions/?customer={customer_id}"),
        Case("API interactions ?matter=", "admin", "/api/v1/interactions/?matter={matter_id}"),
        Case("API interactions ?occurred_after=(7 days)", "admin", f"/api/v1/interactions/?occurred_after={week_ago}"),
        Case("API interactions ?team=&channel=sms", "admin", "/api/v1/interactions/?team={team_id}&channel=sms"),
        Case("API interactions page 5", "admin", "/api/v1/interactions/?page=5"),
        Case("API interactions feed ?updated_since=(1 h)", "admin", f"/api/v1/interactions/?updated_since={hour_ago}"),
        Case("API interactions feed from the start", "admin", f"/api/v1/interactions/?{feed_start}"),
        Case("API interactions feed, 3rd page (cursor)", "admin", f"/api/v1/interactions/?{feed_start}", follow_next=2),
        Case("API interactions feed ?channel=sms", "admin", f"/api/v1/interactions/?{feed_start}&channel=sms"),
        # /api/v1/customers/
        Case("API customers", "admin", "/api/v1/customers/"),
        Case("API customers ?ordering=-last_activity_at", "admin", "/api/v1/customers/?ordering=-last_activity_at"),
        Case("API customers ?ordering=-created_at", "admin", "/api/v1/customers/?ordering=-created_at"),
        Case("API customers ?ordering=updated_at", "admin", "/api/v1/customers/?ordering=updated_at"),
        Case("API customers ?owner=", "admin", "/api/v1/customers/?owner={rep_id}"),
        Case("API customers ?tag=vip", "admin", "/api/v1/customers/?tag=vip"),
        Case("API customers ?preferred_language=de-DE", "admin", "/api/v1/customers/?preferred_language=de-DE"),
        Case("API customers ?preferred_channel=sms", "admin", "/api/v1/customers/?preferred_channel=sms"),
        Case("API customers ?q=<full name>", "admin", "/api/v1/customers/?q={customer_name}"),
        Case("API customers ?q=Emily (broad)", "admin", "/api/v1/customers/?q=Emily"),
        Case("API customers ?q=<phone>", "admin", "/api/v1/customers/?q={phone}"),
        Case("API customers ?q=<e-mail>", "admin", "/api/v1/customers/?q={email}"),
        Case("API customers feed from the start", "admin", f"/api/v1/customers/?{feed_start}"),
        Case("API customers feed, 3rd page (cursor)", "admin", f"/api/v1/customers/?{feed_start}", follow_next=2),
        # /api/v1/followups/
        Case("API followups (admin)", "admin", "/api/v1/followups/"),
        Case("API followups (rep: own teams)", "rep", "/api/v1/followups/"),
        Case("API followups ?status=open", "admin", "/api/v1/followups/?status=open"),
        Case("API followups ?status=done", "admin", "/api/v1/followups/?status=done"),
        Case("API followups ?overdue=true", "admin", "/api/v1/followups/?overdue=true"),
        Case("API followups ?overdue=false", "admin", "/api/v1/followups/?overdue=false"),
        Case("API followups ?owner=", "admin", "/api/v1/followups/?owner={rep_id}"),
        Case("API followups ?team=", "admin", "/api/v1/followups/?team={team_id}"),
        Case("API followups ?customer=", "admin", "/api/v1/followups/?customer={customer_id}"),
        Case("API followups ?due_before=(+2 days)", "admin", f"/api/v1/followups/?due_before={soon}"),
        Case("API followups ?ordering=-created_at", "admin", "/api/v1/followups/?ordering=-created_at"),
        Case("API followups ?ordering=-escalation_level", "admin", "/api/v1/followups/?ordering=-escalation_level"),
        Case("API followups ?ordering=priority", "admin", "/api/v1/followups/?ordering=priority"),
        Case("API followups ?status=open (rep)", "rep", "/api/v1/followups/?status=open"),
        Case("API followups feed from the start", "admin", f"/api/v1/followups/?{feed_start}"),
        Case("API followups feed, 3rd page (cursor)", "admin", f"/api/v1/followups/?{feed_start}", follow_next=2),
        # A customer's own lists.
        Case("API customers/{id}/timeline/", "admin", "/api/v1/customers/{customer_id}/timeline/"),
        Case("API customers/{id}/contact-points/", "admin", "/api/v1/customers/{customer_id}/contact-points/"),
        Case("API customers/{id}/facts/", "admin", "/api/v1/customers/{customer_id}/facts/"),
        Case("API customers/{id}/consents/", "admin", "/api/v1/customers/{customer_id}/consents/"),
        Case("API customers/{id}/duplicates/", "admin", "/api/v1/customers/{customer_id}/duplicates/"),
        Case("API lookup ?phone=", "admin", "/api/v1/lookup/?phone={phone}"),
        # Merge queue, webhooks.
        Case("API customers/duplicates/ (merge queue)", "admin", "/api/v1/customers/duplicates/"),
        Case("API webhooks/endpoints/", "admin", "/api/v1/webhooks/endpoints/"),
        Case("API webhooks/endpoints/{id}/deliveries/", "admin", "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/"),
        # Pages reps and supervisors use.
        Case("page /customers/", "rep", "/customers/"),
        Case("page /customers/?page=5", "rep", "/customers/?page=5"),
        Case("page /customers/?q=<full name>", "rep", "/customers/?q={customer_name}&list=1"),
        Case("page /customers/?q=Emily (broad)", "rep", "/customers/?q=Emily"),
        Case("page /customers/duplicates/", "rep", "/customers/duplicates/"),
        Case("fragment timeline", "rep", "/interactions/customers/{customer_id}/timeline/"),
        Case("fragment customer promises", "rep", "/followups/customers/{customer_id}/promises/"),
        Case("page my day", "rep", "/followups/my-day/"),
        Case("page notifications", "rep", "/followups/notifications/"),
        Case("fragment bell", "rep", "/followups/notifications/bell/"),
        Case("page board (supervisor)", "supervisor", "/supervisor/board/"),
        Case("fragment board list (supervisor)", "supervisor", "/supervisor/board/list/"),
        Case("fragment board list (admin)", "admin", "/supervisor/board/list/"),
        Case("page escalations ?state=all", "supervisor", "/supervisor/escalations/?state=all"),
        Case("page escalations (admin, all)", "admin", "/supervisor/escalations/?state=all"),
        # The admin site's change lists.
        Case("admin interactions", "admin", "/admin/interactions/interaction/"),
        Case("admin customers", "admin", "/admin/crm/customer/"),
        Case("admin follow-ups", "admin", "/admin/followups/followup/"),
        Case("admin matters", "admin", "/admin/interactions/matter/"),
        Case("admin notifications", "admin", "/admin/followups/notification/"),
        Case("admin webhook deliveries", "admin", "/admin/followups/webhookdelivery/"),
    ]  # fmt: skip


def _follow(client, url: str, times: int) -> str:
    for _ in range(times):
        response = client.get(url)
        url = response.json()["next"]
        if not url:
            raise RuntimeError(f"{url}: no next page to follow")
        url = url.replace("http://localhost", "")
    return url


def describe(response) -> str:
    """What a page says about its size: `count` (and whether capped), or the rows it holds."""
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, list):
            return f"{len(body)} rows (no count)"
        if "count" in body:
            said = "".join(
                f" {word}"
                for word, flag in (
                    ("capped", "count_is_capped"),
                    ("estimated", "count_is_estimated"),
                )
                if body.get(flag)
            )
            return f"count {body['count']:,}{said}, {len(body['results'])} rows"
        if "results" in body:
            return f"{len(body['results'])} rows, next {'yes' if body.get('next') else 'no'} (no count)"
        return "object"
    return f"HTML {len(response.content) // 1024} KiB"


def run_case(client, url: str, samples: int) -> list[tuple[float, float]]:
    """(request ms, of which in the database ms) per sample."""
    from django.db import connection

    response = client.get(url)  # warm-up: plans, caches, the connection
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    in_database = [0.0]

    def timed_query(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_database[0] += time.perf_counter() - started

    timings = []
    with connection.execute_wrapper(timed_query):
        for _ in range(samples):
            in_database[0] = 0.0
            started = time.perf_counter()
            client.get(url)
            timings.append(((time.perf_counter() - started) * 1000, in_database[0] * 1000))
    return timings


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return (
        statistics.median(total for total, _in_sql in samples),
        statistics.median(in_sql for _total, in_sql in samples),
    )


def slowest_query(client, url: str) -> tuple[str, str, int]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest query one request runs, and the query count."""
    from django.db import connection

    seen = []

    def record(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((time.perf_counter() - started, sql, params))

    with connection.execute_wrapper(record):
        client.get(url)
    queries = [item for item in seen if not item[1].startswith("EXPLAIN")]
    if not queries:
        return "", "(no query)", 0
    _seconds, sql, params = max(queries, key=lambda item: item[0])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return sql, plan, len(seen)


def query_count(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


# --- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=15, help="per list and size")
    parser.add_argument("--rounds", type=int, default=3, help="alternations between the sizes")
    parser.add_argument("--only", default="", help="time only lists whose name contains this")
    parser.add_argument("--rebuild", action="store_true", help="build the data again")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    args = parser.parse_args()
    sizes = {"small": Shape(args.small), "large": Shape(args.interactions)}
    urls = {
        label: bench_database_url(f"lists_{shape.interactions}") for label, shape in sizes.items()
    }
    # Django is set up once; the default connection then moves between the two databases.
    setup_django(urls["large"])
    build_seconds = {
        label: prepare(urls[label], sizes[label], rebuild=args.rebuild) for label in sizes
    }

    shapes, found = {}, {}
    for label in sizes:
        use_database(urls[label])
        shapes[label] = table_rows()
        found[label] = fixtures()
        print(f"{label}: {json.dumps(shapes[label])}", flush=True)

    chosen = [case for case in cases() if args.only in case.name]
    timings: dict[tuple[str, str], list[tuple[float, float]]] = {}
    urls_of: dict[tuple[str, str], str] = {}
    per_round = max(1, args.samples // args.rounds)
    for round_number in range(args.rounds):
        for label in sizes:
            use_database(urls[label])
            fixture = found[label]
            for case in chosen:
                client = fixture.clients[case.who]
                key = (case.name, label)
                if key not in urls_of:
                    urls_of[key] = _follow(client, case.url(fixture), case.follow_next)
                timings.setdefault(key, []).extend(run_case(client, urls_of[key], per_round))
        print(f"round {round_number + 1}/{args.rounds} done", flush=True)

    rows, plans, described, queries = [], [], {}, {}
    for label in sizes:
        use_database(urls[label])
        for case in chosen:
            client = found[label].clients[case.who]
            response = client.get(urls_of[(case.name, label)])
            described[(case.name, label)] = describe(response)
            queries[(case.name, label)] = query_count(client, urls_of[(case.name, label)])
    use_database(urls["large"])
    for case in chosen:
        small, small_db = _medians(timings[(case.name, "small")])
        large, large_db = _medians(timings[(case.name, "large")])
        ratio = large / small
        rows.append((case, small, large, ratio, small_db, large_db))
        if ratio > GOAL_RATIO:
            client = found["large"].clients[case.who]
            sql, plan, _count = slowest_query(client, urls_of[(case.name, "large")])
            plans.append((case, sql, plan))

    write_report(args, sizes, shapes, build_seconds, rows, plans, described, queries)
    if args.drop:
        from django.db import connections

        connections["default"].close()
        for url in urls.values():
            parts = urlparse(url)
            admin_url = urlunparse(parts._replace(path="/postgres"))
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        print("dropped the benchmark databases")


def write_report(args, sizes, shapes, build_seconds, rows, plans, described, queries) -> None:
    small_n, large_n = sizes["small"].interactions, sizes["large"].interactions
    flat = sum(1 for row in rows if row[3] <= GOAL_RATIO)
    lines = [
        "# Lists benchmark (issue 16: lists stay flat in table size)",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `python -m benchmarks.lists "
        f"--interactions {large_n} --small {small_n} --samples {args.samples} --rounds {args.rounds}`, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        "- each list's page requested through Django's test client (middleware, session "
        "authentication, DRF or templates); medians over "
        f"{max(1, args.samples // args.rounds) * args.rounds} samples per size, rounds alternating "
        "between the two databases",
        f"- goal: large / small <= {GOAL_RATIO:g}x; **{flat} of {len(rows)} lists met it**",
        "",
        "| table | small | large |",
        "|---|---|---|",
    ]
    for key in shapes["small"]:
        small, large = shapes["small"][key], shapes["large"][key]
        fmt = (lambda v: f"{v:,}") if isinstance(small, int) else str
        lines.append(f"| {key} | {fmt(small)} | {fmt(large)} |")
    lines += [
        f"| build time | {build_seconds['small']:.0f} s | {build_seconds['large']:.0f} s |",
        "",
        "| list | who | small ms | large ms | ratio | in SQL ms (small / large) | queries "
        "| small answers | large answers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case, small, large, ratio, small_db, large_db in rows:
        mark = "" if ratio <= GOAL_RATIO else " **NOT flat**"
        lines.append(
            f"| {case.name} | {case.who} | {small:.1f} | {large:.1f} | {ratio:.2f}x{mark} | "
            f"{small_db:.1f} / {large_db:.1f} | {queries[(case.name, 'large')]} | "
            f"{described[(case.name, 'small')]} | {described[(case.name, 'large')]} |"
        )
    for case, sql, plan in plans:
        lines += ["", f"## Not flat: {case.name}", "", "Slowest query:", "", "```sql", sql, "```",
                  "", "```", plan, "```"]  # fmt: skip
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
