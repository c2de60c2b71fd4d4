"""Follow-up events out as webhooks: a real HTTP receiver on loopback, signatures
checked with the `standardwebhooks` package (a verifier nobody here wrote)."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook

from followups import services, sweep, webhooks
from followups.models import FollowUpEvent, WebhookDelivery, WebhookEndpoint, WebhookOutbox
from tests import factories

pytestmark = pytest.mark.django_db


def _promise(**kwargs):
    rep = factories.TeamMembershipFactory().user
    return services.followup_promise(
        customer=factories.CustomerFactory(),
        owner=rep,
        action="Call back with the refund",
        due_at=kwargs.pop("due_at", timezone.now() + timedelta(days=1)),
        **kwargs,
    )


def test_receiver_answering_500_then_200_gets_the_event_once_by_id_and_verifies_it(
    receiver_factory,
):
    receiver = receiver_factory(statuses=[500])
    issued = webhooks.webhook_endpoint_create(url=receiver.url)
    assert issued.secret.startswith("whsec_")
    followup = _promise()
    (outbox,) = WebhookOutbox.objects.all()  # written with the event, same transaction
    event = FollowUpEvent.objects.get(followup=followup)
    assert outbox.event_ids == [event.pk]
    assert webhooks.webhook_fan_out() == webhooks.FanOut(outbox_rows=1, deliveries=1)
    assert not WebhookOutbox.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_type, delivery.status) == ("followup.promised", "pending")
    assert delivery.occurred_at == event.occurred_at

    now = timezone.now()
    assert webhooks.webhook_deliveries_send(now=now) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + timedelta(seconds=30)  # the first back-off
    assert webhooks.webhook_deliveries_send(now=now + timedelta(seconds=29)) == 0
    assert webhooks.webhook_deliveries_send(now=now + timedelta(seconds=31)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)

    verifier = Webhook(issued.secret)
    seen = {}
    for headers, body in receiver.requests:
        payload = verifier.verify(body, headers)  # raises on a bad signature
        seen.setdefault(headers["webhook-id"], payload)
    assert len(receiver.requests) == 2
    assert list(seen) == [delivery.webhook_id]  # one event, by id
    (payload,) = seen.values()
    assert payload["type"] == "followup.promised"
    assert payload["data"]["followup"]["id"] == followup.pk


def test_a_tampered_body_fails_verification(receiver_factory):
    receiver = receiver_factory()
    issued = webhooks.webhook_endpoint_create(url=receiver.url)
    _promise()
    webhooks.webhook_fan_out()
    webhooks.webhook_deliveries_send()

    headers, body = receiver.requests[0]
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(issued.secret).verify(body.replace(b"promised", b"cancelled"), headers)


def test_sweep_transitions_fan_out_to_subscribed_endpoints_only(receiver_factory):
    overdue_only = webhooks.webhook_endpoint_create(
        url=receiver_factory().url, event_types=["followup.overdue"]
    ).endpoint
    everything = webhooks.webhook_endpoint_create(url=receiver_factory().url).endpoint
    followup = _promise(due_at=timezone.now() + timedelta(minutes=5))
    webhooks.webhook_fan_out()

    sweep.followup_sweep(now=timezone.now() + timedelta(minutes=6))

    overdue = FollowUpEvent.objects.get(followup=followup, kind="overdue")
    assert list(WebhookOutbox.objects.values_list("event_ids", flat=True)) == [[overdue.pk]]
    assert not WebhookDelivery.objects.filter(event=overdue).exists()  # not in the sweep
    assert webhooks.webhook_fan_out() == webhooks.FanOut(outbox_rows=1, deliveries=2)
    assert set(
        WebhookDelivery.objects.filter(event=overdue).values_list("endpoint_id", "webhook_id")
    ) == {
        (overdue_only.pk, f"msg_f{overdue.pk}e{overdue_only.pk}"),
        (everything.pk, f"msg_f{overdue.pk}e{everything.pk}"),
    }
    assert list(
        WebhookDelivery.objects.filter(endpoint=overdue_only).values_list("event_type", flat=True)
    ) == ["followup.overdue"]
    # A second sweep makes no second overdue event, so no second delivery.
    sweep.followup_sweep(now=timezone.now() + timedelta(minutes=7))
    assert webhooks.webhook_fan_out() == webhooks.FanOut()
    assert WebhookDelivery.objects.filter(event__kind="overdue").count() == 2


def test_one_outbox_row_per_sweep_batch_whatever_the_endpoints_and_none_without(
    receiver_factory,
):
    rep = factories.TeamMembershipFactory().user
    customer = factories.CustomerFactory()
    due = timezone.now() + timedelta(minutes=5)
    for _ in range(5):
        services.followup_promise(customer=customer, owner=rep, action="Call", due_at=due)
    assert not WebhookOutbox.objects.exists()  # no endpoint: nothing written

    for _ in range(3):
        webhooks.webhook_endpoint_create(url=receiver_factory().url)
    sweep.followup_sweep(now=due + timedelta(minutes=1), batch_size=3)

    overdue_ids = sorted(FollowUpEvent.objects.filter(kind="overdue").values_list("pk", flat=True))
    batches = list(WebhookOutbox.objects.order_by("pk").values_list("event_ids", flat=True))
    assert batches == [overdue_ids[:3], overdue_ids[3:]]  # one row a batch, not one an endpoint
    while webhooks.webhook_fan_out(batch_size=1).outbox_rows:
        pass
    assert WebhookDelivery.objects.filter(event__kind="overdue").count() == 5 * 3


def test_a_replayed_outbox_row_makes_no_second_delivery(receiver_factory):
    """Belt and braces: were an outbox row fanned out again (restored from a
    backup, say), the delivery's webhook-id is the same, so nothing is added."""
    webhooks.webhook_endpoint_create(url=receiver_factory().url)
    _promise()
    event_ids = list(WebhookOutbox.objects.get().event_ids)
    webhooks.webhook_fan_out()
    first = WebhookDelivery.objects.get()

    WebhookOutbox.objects.create(event_ids=event_ids, created_at=timezone.now())
    assert webhooks.webhook_fan_out() == webhooks.FanOut(outbox_rows=1, deliveries=0)

    assert list(WebhookDelivery.objects.values_list("pk", "webhook_id")) == [
        (first.pk, first.webhook_id)
    ]


@pytest.mark.django_db(transaction=True)
def test_two_fan_outs_at_once_split_the_outbox_and_never_both_take_a_row(receiver_factory):
    """A fan-out holding its claim (not yet committed) leaves those rows to
    itself: the other skips them and takes the rest."""
    from django.db import connection, transaction

    webhooks.webhook_endpoint_create(url=receiver_factory().url)
    for _ in range(3):
        _promise()
    rows = list(WebhookOutbox.objects.order_by("pk").values_list("pk", flat=True))
    assert len(rows) == 3

    with transaction.atomic():
        with connection.cursor() as cursor:  # another worker's claim of the first row
            cursor.execute(
                "SELECT id FROM followups_webhookoutbox WHERE id = %s FOR UPDATE", [rows[0]]
            )
        other = _in_another_connection(lambda: webhooks.webhook_fan_out())
    assert other == webhooks.FanOut(outbox_rows=2, deliveries=2)
    assert list(WebhookOutbox.objects.values_list("pk", flat=True)) == [rows[0]]


def _in_another_connection(function):
    """Run `function` in a thread (its own database connection) and return its result."""
    from django.db import connections

    result = {}

    def run():
        try:
            result["value"] = function()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return result["value"]


def test_people_changes_go_out_too(receiver_factory):
    webhooks.webhook_endpoint_create(url=receiver_factory().url)
    followup = _promise()

    services.followup_cancel(
        followup_id=followup.pk, user=followup.owner, reason="Customer withdrew"
    )

    webhooks.webhook_fan_out()
    assert list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "followup.promised",
        "followup.cancelled",
    ]


def test_a_slow_receiver_never_holds_the_sweep(receiver_factory, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    slow = receiver_factory(delay=5)
    webhooks.webhook_endpoint_create(url=slow.url)
    followup = _promise(due_at=timezone.now() + timedelta(minutes=5))

    later = timezone.now() + timedelta(minutes=6)
    started = time.monotonic()
    sweep.followup_sweep(now=later)
    sweep_seconds = time.monotonic() - started
    assert FollowUpEvent.objects.filter(followup=followup, kind="overdue").exists()
    assert sweep_seconds < 1.0  # the sweep only writes the outbox

    webhooks.webhook_fan_out(now=later)
    started = time.monotonic()
    assert webhooks.webhook_deliveries_send(now=later) == 2  # promised + overdue
    send_seconds = time.monotonic() - started
    assert send_seconds < 2.5  # two timeouts of 0.5 s, not two 5 s waits
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", 1)}
    assert all("Timeout" in e for e in WebhookDelivery.objects.values_list("last_error", flat=True))


def test_endpoint_failing_for_days_is_disabled_and_admins_are_mailed(
    receiver_factory, settings, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@rapport.example")]
    receiver = receiver_factory(statuses=[503, 503])
    endpoint = webhooks.webhook_endpoint_create(url=receiver.url).endpoint
    _promise()
    webhooks.webhook_fan_out()
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now - timedelta(days=4))

    webhooks.webhook_deliveries_send(now=now)  # 4 days of failures: still active
    endpoint.refresh_from_db()
    assert endpoint.is_active

    later = now + timedelta(days=1, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_deliveries_send(now=later)

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_at) == (False, later)
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["failed"]
    assert len(mail.outbox) == 1
    assert endpoint.url in mail.outbox[0].subject
    assert mail.outbox[0].to == ["ops@rapport.example"]


def test_replay_sends_again_with_the_same_webhook_id(receiver_factory):
    receiver = receiver_factory()
    webhooks.webhook_endpoint_create(url=receiver.url)
    _promise()
    webhooks.webhook_fan_out()
    webhooks.webhook_deliveries_send()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "sent"

    webhooks.webhook_delivery_replay(delivery=delivery)
    webhooks.webhook_deliveries_send()

    assert [headers["webhook-id"] for headers, _ in receiver.requests] == [
        delivery.webhook_id,
        delivery.webhook_id,
    ]


def test_admin_registers_an_endpoint_shows_the_secret_once_and_the_delivery_log(
    client, receiver_factory
):
    admin_client = client
    admin_client.force_login(factories.UserFactory(is_superuser=True, is_staff=True))
    receiver = receiver_factory()
    response = admin_client.post(
        "/admin/followups/webhookendpoint/add/",
        {
            "url": receiver.url,
            "description": "CRM on the other side",
            "event_types": '["followup.overdue"]',
            "is_active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "deliveries-MIN_NUM_FORMS": "0",
            "deliveries-MAX_NUM_FORMS": "0",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    secret = next(str(m) for m in response.context["messages"] if "whsec_" in str(m))
    assert endpoint.event_types == ["followup.overdue"]
    assert secret.split()[-1] not in endpoint.secret_encrypted  # stored encrypted only
    followup = _promise(due_at=timezone.now() + timedelta(minutes=1))
    sweep.followup_sweep(now=timezone.now() + timedelta(minutes=2))
    webhooks.webhook_fan_out()
    delivery = WebhookDelivery.objects.get()

    page = admin_client.get(f"/admin/followups/webhookendpoint/{endpoint.pk}/change/")
    assert delivery.webhook_id in page.content.decode()
    admin_client.post(
        "/admin/followups/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.event.followup_id == followup.pk


def test_api_client_registers_its_endpoint_reads_its_log_and_replays(receiver_factory):
    from core.models import ApiClient
    from tests.api_clients.helpers import bearer_client

    receiver = receiver_factory()
    _, http, _ = bearer_client(*ApiClient.Scope.values, name="crm-bridge")
    _, other, _ = bearer_client(*ApiClient.Scope.values, name="someone-else")

    created = http.post(
        "/api/v1/webhooks/endpoints/",
        {"url": receiver.url, "event_types": ["followup.promised"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    endpoint_id, secret = created.json()["id"], created.json()["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in http.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/").json()
    assert other.get("/api/v1/webhooks/endpoints/").json() == []  # its own only

    _promise()
    webhooks.webhook_fan_out()
    webhooks.webhook_deliveries_send()
    log = http.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/").json()
    assert [(d["event_type"], d["status"]) for d in log] == [("followup.promised", "sent")]
    Webhook(secret).verify(receiver.requests[0][1], receiver.requests[0][0])

    replayed = http.post(
        f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/{log[0]['id']}/replay/"
    )
    assert (replayed.status_code, replayed.json()["status"]) == (200, "pending")
    bad = http.post("/api/v1/webhooks/endpoints/", {"url": "ftp://x", "events": []}, format="json")
    assert bad.status_code == 400
    assert {"url", "events"} <= set(bad.json()["errors"])


def test_follow_up_events_go_only_to_endpoints_whose_client_may_read_them(receiver_factory):
    from core.models import ApiClient
    from core.services import api_client_create, api_client_revoke

    def endpoint_of(name, *scopes):
        client = api_client_create(name=name, scopes=list(scopes)).client
        return client, webhooks.webhook_endpoint_create(
            url=receiver_factory().url, api_client=client
        ).endpoint

    _, reader = endpoint_of("reader", ApiClient.Scope.FOLLOWUPS_READ)
    _, writer_only = endpoint_of("writer", ApiClient.Scope.FOLLOWUPS_WRITE)
    revoked_client, revoked = endpoint_of("revoked", ApiClient.Scope.FOLLOWUPS_READ)
    admins = webhooks.webhook_endpoint_create(url=receiver_factory().url).endpoint
    api_client_revoke(client=revoked_client)

    _promise()
    webhooks.webhook_fan_out()

    assert set(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == {
        reader.pk,
        admins.pk,
    }  # not writer_only's (no followups:read) nor revoked's


def test_a_redirect_is_not_followed_and_a_long_answer_still_acknowledges(receiver_factory):
    elsewhere = receiver_factory()
    redirecting = receiver_factory(statuses=[302], headers={"location": elsewhere.url})
    chatty = receiver_factory(body=b"x" * 1_000_000)  # acknowledged, then a megabyte
    redirecting_endpoint = webhooks.webhook_endpoint_create(url=redirecting.url).endpoint
    chatty_endpoint = webhooks.webhook_endpoint_create(url=chatty.url).endpoint
    _promise()
    webhooks.webhook_fan_out()

    assert webhooks.webhook_deliveries_send() == 2

    assert (len(redirecting.requests), len(elsewhere.requests)) == (1, 0)
    assert set(WebhookDelivery.objects.values_list("endpoint_id", "status", "last_error")) == {
        (redirecting_endpoint.pk, "pending", "HTTP 302"),
        (chatty_endpoint.pk, "sent", ""),
    }


def test_fan_out_and_a_send_batch_take_the_same_queries_for_6_or_30_events(
    receiver_factory, django_assert_max_num_queries
):
    webhooks.webhook_endpoint_create(url=receiver_factory().url)
    _log_and_promise(3)
    with django_assert_max_num_queries(20) as few:
        webhooks.webhook_fan_out()
        assert webhooks.webhook_deliveries_send() == 6

    _log_and_promise(15)  # 30 outbox rows: within one fan-out batch of each outbox
    with django_assert_max_num_queries(len(few.captured_queries)):
        webhooks.webhook_fan_out()
        assert webhooks.webhook_deliveries_send() == 30


def _log_and_promise(count: int) -> None:
    """`count` interactions logged, each with a promise (an event of each floor)."""
    from interactions.services import interaction_log

    rep = factories.TeamMembershipFactory().user
    customer = factories.CustomerFactory()
    for n in range(count):
        interaction = interaction_log(
            customer=customer,
            channel="phone",
            direction="inbound",
            occurred_at=timezone.now() - timedelta(minutes=n + 1),
            rep=rep,
        )
        services.followup_promise(
            customer=customer,
            owner=rep,
            action="Call back",
            due_at=timezone.now() + timedelta(days=1),
            origin_interaction=interaction,
        )
