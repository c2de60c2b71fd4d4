"""Interaction events out as webhooks: every way an interaction enters or changes
emits one event per interaction, through the same outbox, signing, delivery log
and replay as follow-up events. A real receiver on loopback; signatures checked
with the `standardwebhooks` package."""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups import services as followup_services
from followups import webhooks
from followups.models import (
    WEBHOOK_EVENT_TYPES,
    FollowUp,
    WebhookDelivery,
)
from interactions import matters, services
from interactions.models import (
    AsteriskSource,
    Interaction,
    InteractionCategory,
    InteractionEventOutbox,
    InteractionEventSubscription,
)
from interactions.sources.twilio import signature_compute
from tests import factories
from tests.admin_forms import post_form
from tests.api_clients.helpers import bearer_client
from tests.contract.asterisk_fixtures import cdr_line
from tests.contract.twilio_fixtures import ACCOUNT_SID, AUTH_TOKEN, CALL_SID, callback
from tests.followups.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

FOLLOWUP_TYPES = sorted(set(WEBHOOK_EVENT_TYPES.values()))
LOGGED, UPDATED, FEEDBACK = (
    "interaction.logged",
    "interaction.updated",
    "interaction.feedback_received",
)


@dataclass
class Hooks:
    everything: Receiver  # an admin's endpoint, every event type
    everything_secret: str
    followups_only: Receiver  # subscribed to follow-up events only
    followups_only_secret: str
    payloads: list[dict] | None = None  # the last deliver()'s, verified
    requests: list[tuple[dict, bytes]] | None = None  # and as received (headers, body)

    def deliver(self) -> list[tuple[str, int]]:
        """Fan out and send everything due; the (type, interaction id) of the
        interaction events the all-events receiver verified since the last call."""
        while not webhooks.webhook_fan_out().is_drained:
            pass
        while webhooks.webhook_deliveries_send():
            pass
        payloads = self.everything.verified(self.everything_secret)
        self.requests = list(self.everything.requests)
        self.everything.requests.clear()
        self.payloads = payloads
        others = self.followups_only.verified(self.followups_only_secret)
        assert all(p["type"].startswith("followup.") for p in others), others
        return sorted(
            (p["type"], p["data"]["interaction"]["id"])
            for p in payloads
            if p["type"].startswith("interaction.")
        )


@pytest.fixture
def hooks(receiver_factory):
    everything = receiver_factory()
    followups_only = receiver_factory()
    issued = webhooks.webhook_endpoint_create(url=everything.url)
    issued_followups = webhooks.webhook_endpoint_create(
        url=followups_only.url, event_types=FOLLOWUP_TYPES
    )
    return Hooks(everything, issued.secret, followups_only, issued_followups.secret)


@pytest.fixture(autouse=True)
def categories(db):
    # Seeded by a migration, but a transactional test elsewhere may have flushed them.
    for slug in ("question", "complaint"):
        InteractionCategory.objects.get_or_create(slug=slug, defaults={"name": slug.title()})


def _once_each(events: list[tuple[str, int]], event_type: str, ids) -> bool:
    return Counter(pk for kind, pk in events if kind == event_type) == Counter(ids)


# --- every way in ---------------------------------------------------------------------


def test_api_create_and_update_emit_one_event_each_and_an_unchanged_patch_none(hooks):
    _, http, _ = bearer_client("interactions:read", "interactions:write", name="phone-app")
    customer = factories.CustomerFactory()
    body = {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "duration_seconds": 60,
        "summary": "Asked about the bill",
    }

    created = http.post("/api/v1/interactions/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert hooks.deliver() == [(LOGGED, pk)]

    changed = http.patch(f"/api/v1/interactions/{pk}/", {"outcome": "resolved"}, format="json")
    same = http.patch(f"/api/v1/interactions/{pk}/", {"outcome": "resolved"}, format="json")
    assert (changed.status_code, same.status_code) == (200, 200)
    assert hooks.deliver() == [(UPDATED, pk)]


def test_batch_sync_emits_logged_for_new_updated_for_changed_and_nothing_for_replays(hooks):
    _, http, _ = bearer_client("interactions:write", name="sync")
    when = (timezone.now() - timedelta(hours=2)).isoformat()

    def records(duration: int):
        return [
            {
                "source": "pbx",
                "external_id": f"call-{n}",
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": when,
                "duration_seconds": duration if n == 0 else 30,
                "customer_phone": f"+1415555{n:04d}",
            }
            for n in range(3)
        ]

    first = http.post("/api/v1/interactions/sync/", {"records": records(30)}, format="json")
    ids = [r["id"] for r in first.json()["results"]]
    assert [r["status"] for r in first.json()["results"]] == ["created"] * 3
    assert InteractionEventOutbox.objects.count() == 1  # one row for the batch
    assert hooks.deliver() == sorted((LOGGED, pk) for pk in ids)

    replay = http.post("/api/v1/interactions/sync/", {"records": records(30)}, format="json")
    changed = http.post("/api/v1/interactions/sync/", {"records": records(99)}, format="json")

    assert [r["status"] for r in replay.json()["results"]] == ["unchanged"] * 3
    assert [r["status"] for r in changed.json()["results"]] == ["updated"] + ["unchanged"] * 2
    assert hooks.deliver() == [(UPDATED, ids[0])]


def test_asterisk_cdr_upload_emits_one_logged_per_new_call_and_none_on_reupload(hooks):
    AsteriskSource.objects.create(name="asterisk")
    _, pbx, _ = bearer_client("interactions:write", name="pbx")
    text = "\n".join(cdr_line(uniqueid=f"1.{n}") for n in range(3)) + "\n"

    def upload():
        return pbx.post(
            "/api/v1/integrations/asterisk/cdr/?source=asterisk",
            data=text.encode(),
            content_type="text/csv",
        )

    ids = [line["id"] for line in upload().json()["results"]]
    assert hooks.deliver() == sorted((LOGGED, pk) for pk in ids)
    upload()
    assert hooks.deliver() == []


def test_twilio_callbacks_emit_logged_once_then_updated_per_change(client, hooks):
    call_command("add_twilio_account", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, stdout=None)
    path = "/api/v1/integrations/twilio/voice/"

    def post(params):
        signature = signature_compute("http://testserver" + path, list(params.items()), AUTH_TOKEN)
        response = client.post(
            path,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        assert response.status_code == 204, response.content

    post(callback("ringing", 1))
    pk = Interaction.objects.get(source="twilio", external_id=CALL_SID).pk
    assert hooks.deliver() == [(LOGGED, pk)]

    post(callback("ringing", 1))  # a replay changes nothing
    assert hooks.deliver() == []
    post(callback("completed", 3))
    post(callback("initiated", 0))  # late, but earlier: moves the start time back
    assert hooks.deliver() == [(UPDATED, pk), (UPDATED, pk)]


def test_a_spreadsheet_import_emits_one_logged_per_new_row(hooks):
    from spreadsheets.interaction_import import interactions_import

    history = (
        b"Date;Phone;Type;Direction;Notes\n"
        b"05/03/2025 14:30;0171 2345678;Call;In;Asked about the bill\n"
        b"07/03/2025;+49 171 2345678;Visit;Inbound;Came by the shop\n"
        b"07/03/2025;+49 171 2345678;Visit;Inbound;Came by the shop\n"
    )

    result = interactions_import(content=history, region="DE", time_zone="Europe/Berlin")

    assert [row.status for row in result.rows] == ["created", "created", "unchanged"]
    assert hooks.deliver() == sorted(
        (LOGGED, pk) for pk in Interaction.objects.values_list("pk", flat=True)
    )
    assert Interaction.objects.count() == 2


def test_email_ingest_emits_one_logged_and_a_redelivery_none(hooks):
    _, gateway, _ = bearer_client("interactions:write", name="mail")
    raw = (
        "From: Ann <ann@example.com>\r\nTo: support@example.org\r\nSubject: Order 42\r\n"
        "Message-ID: <a1@example.com>\r\nDate: "
        + timezone.now().strftime("%a, %d %b %Y %H:%M:%S +0000")
        + "\r\n\r\nWhere is my order?\r\n"
    ).encode()

    def post():
        return gateway.generic(
            "POST", "/api/v1/interactions/email/", raw, content_type="message/rfc822"
        )

    first = post()
    assert first.status_code == 201, first.json()
    assert hooks.deliver() == [(LOGGED, first.json()["interaction"]["id"])]
    assert post().status_code == 200
    assert hooks.deliver() == []


def test_the_reps_log_form_emits_one_logged_carrying_the_promise_made(client, hooks):
    team = factories.TeamFactory(time_zone="Europe/London")
    rep = factories.TeamMembershipFactory(team=team).user
    customer = factories.CustomerFactory(time_zone="Europe/London")
    client.force_login(rep)

    response = client.post(
        f"/interactions/customers/{customer.pk}/log/",
        {
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": timezone.localtime(timezone.now() - timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "duration_minutes": "5",
            "summary": "Asked about the refund",
            "promise-make_promise": "on",
            "promise-action": "Call back with the refund date",
            "promise-due_phrase": "in 2 days",
            "promise-priority": "normal",
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200, response.content.decode()[:2000]
    interaction = Interaction.objects.get()
    followup = FollowUp.objects.get()
    assert hooks.deliver() == [(LOGGED, interaction.pk)]
    (logged,) = [p for p in hooks.payloads if p["type"] == LOGGED]
    assert logged["data"]["interaction"]["followups"] == {"promised": [followup.pk], "kept": []}


def test_admin_add_and_change_emit_one_event_each(client, hooks):
    admin = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    customer = factories.CustomerFactory()
    when = timezone.now() - timedelta(hours=3)
    response = post_form(
        client,
        reverse("admin:interactions_interaction_add"),
        {
            "customer": str(customer.pk),
            "channel": "phone",
            "direction": "inbound",
            "occurred_at_0": when.strftime("%Y-%m-%d"),
            "occurred_at_1": when.strftime("%H:%M:%S"),
            "duration_seconds": "120",
            "source": "manual",
        },
    )
    assert response.status_code == 302
    interaction = Interaction.objects.get()
    assert hooks.deliver() == [(LOGGED, interaction.pk)]

    services.interaction_update(interaction=interaction, changes={"category": "question"})
    assert hooks.deliver() == [(UPDATED, interaction.pk)]


def test_linking_to_another_matter_is_an_update(hooks):
    customer = factories.CustomerFactory()
    now = timezone.now()
    first = services.interaction_log(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=now - timedelta(hours=2),
        category="question",
    )
    second = services.interaction_log(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=now - timedelta(hours=1),
        category="complaint",
    )
    assert hooks.deliver() == sorted([(LOGGED, first.pk), (LOGGED, second.pk)])

    matters.interaction_matter_link(interaction=second, matter=first.matter)
    matters.interaction_matter_unlink(interaction=second)
    assert hooks.deliver() == [(UPDATED, second.pk), (UPDATED, second.pk)]


def test_feedback_from_the_customers_page_goes_out_with_its_score_never_its_comment(hooks):
    customer = factories.CustomerFactory()
    interaction = services.interaction_log(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=timezone.now() - timedelta(hours=1),
    )
    hooks.deliver()

    page = services.feedback_path(interaction_id=interaction.pk)
    answered = Client().post(page, {"score": "4", "comment": "Maria was lovely"})

    assert answered.status_code == 200
    assert hooks.deliver() == [(FEEDBACK, interaction.pk)]
    (payload,) = hooks.payloads
    assert payload["data"]["feedback"] == {
        "score": 4,
        "given_at": interaction.feedback.created_at.isoformat(),
    }
    assert "lovely" not in str(payload)


def test_a_customer_merge_moves_their_interactions_an_update_each(hooks):
    from crm.services import customer_merge

    duplicate, survivor = factories.CustomerFactory(), factories.CustomerFactory()
    moved = [
        services.interaction_log(
            customer=duplicate,
            channel="phone",
            direction="inbound",
            occurred_at=timezone.now() - timedelta(hours=n + 1),
        )
        for n in range(2)
    ]
    hooks.deliver()

    customer_merge(
        source=duplicate, target=survivor, actor=factories.UserFactory(is_superuser=True)
    )

    assert hooks.deliver() == sorted((UPDATED, i.pk) for i in moved)
    assert {p["data"]["interaction"]["customer"] for p in hooks.payloads} == {survivor.pk}


# --- who gets them, and what they say ------------------------------------------------


def _log(customer=None, **fields) -> Interaction:
    return services.interaction_log(
        customer=customer or factories.CustomerFactory(),
        channel=fields.pop("channel", "phone"),
        direction=fields.pop("direction", "inbound"),
        occurred_at=fields.pop("occurred_at", timezone.now() - timedelta(hours=1)),
        **fields,
    )


def test_an_endpoint_subscribed_to_follow_up_events_gets_those_and_no_interaction_event(
    hooks,
):
    customer = factories.CustomerFactory()
    interaction = _log(customer)
    rep = factories.TeamMembershipFactory().user
    followup = followup_services.followup_promise(
        customer=customer,
        owner=rep,
        action="Call back",
        due_at=timezone.now() + timedelta(days=1),
        origin_interaction=interaction,
    )

    assert hooks.deliver() == [(LOGGED, interaction.pk)]
    received = hooks.followups_only.verified(hooks.followups_only_secret)
    assert [(p["type"], p["data"]["followup"]["id"]) for p in received] == [
        ("followup.promised", followup.pk)
    ]


def test_nothing_is_recorded_while_no_endpoint_listens(receiver_factory):
    followups_only = webhooks.webhook_endpoint_create(
        url=receiver_factory().url, event_types=FOLLOWUP_TYPES
    ).endpoint
    _log()
    assert not InteractionEventSubscription.objects.exists()
    assert not InteractionEventOutbox.objects.exists()

    logged_only = webhooks.webhook_endpoint_create(
        url=receiver_factory().url, event_types=[LOGGED]
    ).endpoint
    interaction = _log()
    services.interaction_update(interaction=interaction, changes={"outcome": "resolved"})

    assert list(InteractionEventSubscription.objects.values_list("kind", flat=True)) == ["logged"]
    assert list(InteractionEventOutbox.objects.values_list("kind", "interaction_ids")) == [
        ("logged", [interaction.pk])
    ]  # the update is not recorded: nobody listens to updates

    webhooks.webhook_endpoint_update(endpoint=logged_only, changes={"is_active": False})
    assert not InteractionEventSubscription.objects.exists()
    webhooks.webhook_endpoint_update(endpoint=logged_only, changes={"is_active": True})
    webhooks.webhook_endpoint_update(endpoint=followups_only, changes={"event_types": []})
    assert set(InteractionEventSubscription.objects.values_list("kind", flat=True)) == {
        "logged",
        "updated",
        "feedback_received",
    }
    webhooks.webhook_endpoint_delete(endpoint=followups_only)
    assert list(InteractionEventSubscription.objects.values_list("kind", flat=True)) == ["logged"]


def test_the_senders_tick_heals_subscriptions_changed_around_the_services(receiver_factory):
    from followups.tasks import webhook_deliveries_send

    endpoint = webhooks.webhook_endpoint_create(
        url=receiver_factory().url, event_types=FOLLOWUP_TYPES
    ).endpoint
    type(endpoint).objects.filter(pk=endpoint.pk).update(event_types=[UPDATED])  # a shell edit
    assert not InteractionEventSubscription.objects.exists()

    webhook_deliveries_send()

    assert list(InteractionEventSubscription.objects.values_list("kind", flat=True)) == ["updated"]


def test_interaction_events_go_only_to_clients_that_may_read_interactions(receiver_factory):
    reader, reader_http, _ = bearer_client(
        "interactions:read", "followups:read", "followups:write", name="reader"
    )
    _, followups_http, _ = bearer_client("followups:read", "followups:write", name="promises")

    refused = followups_http.post(
        "/api/v1/webhooks/endpoints/",
        {"url": receiver_factory().url, "event_types": [LOGGED]},
        format="json",
    )
    assert refused.status_code == 400
    assert "interactions:read" in str(refused.json()["errors"]["event_types"])
    everything = followups_http.post(
        "/api/v1/webhooks/endpoints/", {"url": receiver_factory().url}, format="json"
    )
    readers = reader_http.post(
        "/api/v1/webhooks/endpoints/",
        {"url": receiver_factory().url, "event_types": [LOGGED]},
        format="json",
    )
    assert (everything.status_code, readers.status_code) == (201, 201)

    interaction = _log()
    webhooks.webhook_fan_out()

    assert list(
        WebhookDelivery.objects.filter(interaction=interaction).values_list(
            "endpoint_id", "event_type"
        )
    ) == [(readers.json()["id"], LOGGED)]  # not to the client without interactions:read
    reader.scopes = ["followups:read"]  # its scope taken away: nothing more
    reader.save(update_fields=["scopes"])
    _log()
    assert webhooks.webhook_fan_out().deliveries == 0


def test_the_payload_carries_ids_and_categories_never_notes_or_contact_details(hooks):
    customer = factories.CustomerFactory(full_name="Ottilie Quarrington")
    rep = factories.TeamMembershipFactory().user
    interaction = _log(
        customer,
        rep=rep,
        subject="Ottilie's broken boiler",
        summary="Ottilie says her husband is in hospital",
        from_number="+14155550123",
        category="complaint",
        outcome="promise_made",
        sentiment=-2,
        location="12 Acacia Avenue",
        source="pbx",
        external_id="call-77",
    )

    hooks.deliver()

    (payload,) = hooks.payloads
    assert payload == {
        "type": LOGGED,
        "timestamp": payload["timestamp"],
        "data": {
            "interaction": {
                "id": interaction.pk,
                "customer": customer.pk,
                "rep": rep.pk,
                "team": interaction.team_id,
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": interaction.occurred_at.isoformat(),
                "duration_seconds": 0,
                "category": "complaint",
                "outcome": "promise_made",
                "matter": interaction.matter_id,
                "source": "pbx",
                "external_id": "call-77",
                "followups": {"promised": [], "kept": []},
            }
        },
    }
    assert interaction.team_id is not None
    assert interaction.matter_id is not None


def test_an_erased_customer_does_not_leak_through_a_pending_delivery(hooks):
    from privacy.services import customer_erase, personal_values_of

    customer = factories.CustomerFactory(full_name="Wilhelmina Fairbrother")
    factories.ContactPointFactory(customer=customer, value="+14155550199")
    interaction = _log(
        customer,
        subject="Wilhelmina's refund",
        summary="Wilhelmina Fairbrother called from +14155550199",
        from_number="+14155550199",
    )
    webhooks.webhook_fan_out()
    pending = WebhookDelivery.objects.get(interaction=interaction, endpoint__event_types=[])
    personal = [value.casefold() for value in personal_values_of(customer=customer)]
    assert "wilhelmina fairbrother" in personal

    customer_erase(customer=customer, actor=factories.UserFactory(is_superuser=True))
    hooks.deliver()

    ((headers, body),) = [(h, b) for h, b in hooks.requests if b"interaction.logged" in b]
    assert not [value for value in personal if value in body.decode().casefold()]
    assert headers["webhook-id"] == pending.webhook_id  # erasure keeps the id receivers dedupe by
    pending.refresh_from_db()
    assert (pending.event_type, pending.status) == (LOGGED, "sent")


def test_a_replayed_interaction_event_keeps_its_webhook_id_and_shows_in_the_clients_log(
    receiver_factory,
):
    receiver = receiver_factory()
    _, http, _ = bearer_client(
        "interactions:read", "followups:read", "followups:write", name="bridge"
    )
    created = http.post(
        "/api/v1/webhooks/endpoints/",
        {"url": receiver.url, "event_types": [LOGGED]},
        format="json",
    ).json()
    interaction = _log()
    webhooks.webhook_fan_out()
    webhooks.webhook_deliveries_send()

    log = http.get(f"/api/v1/webhooks/endpoints/{created['id']}/deliveries/").json()
    assert [(d["event_type"], d["status"]) for d in log] == [(LOGGED, "sent")]
    http.post(f"/api/v1/webhooks/endpoints/{created['id']}/deliveries/{log[0]['id']}/replay/")
    webhooks.webhook_deliveries_send()

    payloads = receiver.verified(created["secret"])
    assert [p["data"]["interaction"]["id"] for p in payloads] == [interaction.pk] * 2
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
