import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Customer
from interactions.models import Interaction, TwilioAccount, TwilioCall
from interactions.sources.twilio import signature_compute
from tests import factories
from tests.contract.twilio_fixtures import ACCOUNT_SID, AUTH_TOKEN, CALL_SID, callback

PATH = "/api/v1/integrations/twilio/voice/"
SIGNED_URL = "http://testserver" + PATH


@pytest.fixture
def account(db):
    call_command("add_twilio_account", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, stdout=None)
    return TwilioAccount.objects.get()


def post(
    client, params: dict, *, url: str = SIGNED_URL, token: str = AUTH_TOKEN, signature=None, **extra
):
    signature = signature or signature_compute(url, list(params.items()), token)
    return client.post(
        PATH,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
        **extra,
    )


def test_token_is_stored_encrypted(account):
    assert AUTH_TOKEN not in account.auth_token_encrypted
    assert account.auth_token_encrypted.startswith("gAAAA")  # a Fernet token


def test_callbacks_of_one_call_update_one_interaction(client, account):
    customer = factories.CustomerFactory()
    factories.ContactPointFactory(customer=customer, value="+14155552671")

    codes = [
        post(client, callback(status, seq)).status_code
        for seq, status in enumerate(["initiated", "ringing", "in-progress", "completed"])
    ]

    interaction = Interaction.objects.get()
    assert codes == [204, 204, 204, 204]
    assert (interaction.source, interaction.external_id) == ("twilio", CALL_SID)
    assert (interaction.customer_id, interaction.direction, interaction.duration_seconds) == (
        customer.pk,
        "inbound",
        65,
    )
    assert interaction.occurred_at == datetime(2026, 3, 5, 10, 0, 0, tzinfo=UTC)
    assert TwilioCall.objects.get().status == "completed"
    assert interaction.matter_id is not None


def test_out_of_order_callbacks_never_regress_status(client, account):
    post(client, callback("completed", 3))
    post(client, callback("ringing", 1))
    post(client, callback("in-progress", 2))

    call = TwilioCall.objects.get()
    interaction = Interaction.objects.get()
    assert (call.status, call.sequence_number) == ("completed", 3)
    assert (interaction.duration_seconds, interaction.summary) == (65, "Twilio call completed")
    # The earliest timestamp seen is when the call started.
    assert interaction.occurred_at == datetime(2026, 3, 5, 10, 0, 1, tzinfo=UTC)


def test_replayed_callback_changes_nothing(client, account):
    post(client, callback("completed", 3))
    before = Interaction.objects.get().updated_at

    assert post(client, callback("completed", 3)).status_code == 204
    assert Interaction.objects.get().updated_at == before


def test_browser_client_caller_is_kept_as_address_not_normalised(client, account):
    params = callback("completed", 0, From="client:alice", Caller="client:alice")

    assert post(client, params).status_code == 204

    call = TwilioCall.objects.get()
    assert call.from_address == "client:alice"
    assert Interaction.objects.get().customer_id is None


def test_unknown_fields_are_signed_and_accepted(client, account):
    params = callback("completed", 0, StirVerstat="TN-Validation-Passed-A", NewThing2030="x")

    assert post(client, params).status_code == 204
    assert TwilioCall.objects.get().last_params["NewThing2030"] == "x"


def test_wrong_signature_is_403_and_writes_nothing(client, account):
    response = post(client, callback("completed", 0), signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")

    assert response.status_code == 403
    assert Interaction.objects.count() == 0


def test_signature_over_a_changed_url_is_403(client, account):
    response = post(client, callback("completed", 0), url=SIGNED_URL + "?tampered=1")

    assert response.status_code == 403
    assert Interaction.objects.count() == 0


def test_signature_with_another_token_is_403(client, account):
    assert post(client, callback("completed", 0), token="0" * 32).status_code == 403


def test_unknown_account_is_403(client, account):
    params = callback("completed", 0, AccountSid="AC" + "9" * 32)

    assert post(client, params).status_code == 403
    assert Interaction.objects.count() == 0


def test_url_signed_with_default_port_443_is_accepted(client, account):
    url = "https://testserver:443" + PATH

    response = post(client, callback("completed", 0), url=url, secure=True)

    assert response.status_code == 204


def test_unmappable_callback_is_400_naming_the_field(client, account):
    response = post(client, callback("exploded", 0))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"CallStatus"}


def test_outbound_call_matches_the_called_customer(client, account):
    customer = factories.CustomerFactory()
    factories.ContactPointFactory(customer=customer, value="+14155550100")
    params = callback(
        "completed", 0, Direction="outbound-api", From="+18005551212", To="+14155550100"
    )

    post(client, params)

    interaction = Interaction.objects.get()
    assert (interaction.direction, interaction.customer_id) == ("outbound", customer.pk)


def test_configured_public_base_url_is_what_gets_signed(client, account, settings):
    settings.TWILIO_WEBHOOK_BASE_URL = "https://rapport.example.com"
    public = "https://rapport.example.com" + PATH

    assert post(client, callback("completed", 0), url=public).status_code == 204
    assert post(client, callback("completed", 1), url=SIGNED_URL).status_code == 403


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    extra=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=30), max_size=5),
    overrides=st.dictionaries(
        st.sampled_from(
            ["From", "To", "CallStatus", "SequenceNumber", "CallDuration", "Timestamp", "Direction"]
        ),
        st.text(max_size=30),
        max_size=4,
    ),
)
def test_arbitrary_signed_parameters_never_500(client, account, extra, overrides):
    params = {**extra, **callback("completed", 0), **overrides}
    params["CallSid"] = "CA" + uuid.uuid4().hex
    params["AccountSid"] = ACCOUNT_SID

    response = post(client, params)

    assert response.status_code in (204, 400)


def test_unknown_caller_stays_unmatched_by_default(client, account):
    post(client, callback("completed", 3))

    assert Interaction.objects.get().customer_id is None
    assert not Customer.objects.exists()


def test_account_set_to_create_customers_creates_one_per_unknown_caller(client, db):
    call_command(
        "add_twilio_account",
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        creates_unmatched_customers=True,
        stdout=None,
    )

    for seq, status in enumerate(["ringing", "in-progress", "completed"]):
        assert post(client, callback(status, seq)).status_code == 204
    post(client, callback("completed", 9, CallSid="CA" + "1" * 32))

    customer = Customer.objects.get()
    assert customer.full_name == "Jane Doe"  # Twilio's CallerName (CNAM)
    assert list(customer.contact_points.values_list("kind", "value")) == [("phone", "+14155552671")]
    calls = Interaction.objects.order_by("pk")
    assert [c.customer_id for c in calls] == [customer.pk, customer.pk]
    assert all(c.matter_id is not None for c in calls)
    # Re-running the command without the flag keeps the setting.
    call_command("add_twilio_account", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, stdout=None)
    assert TwilioAccount.objects.get().creates_unmatched_customers is True
