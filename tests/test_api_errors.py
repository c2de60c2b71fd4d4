import json

from django.db import DataError
from rest_framework.exceptions import NotFound
from rest_framework.test import APIClient

from core.errors import exception_handler
from core.renderers import ApiJSONRenderer
from crm.models import TeamMembership
from tests.factories import TeamMembershipFactory


def test_a_value_the_database_cannot_store_is_a_400_not_a_500():
    response = exception_handler(
        DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes\nmore"), {}
    )

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["detail"].endswith("cannot contain NUL (0x00) bytes")


def test_other_api_errors_keep_their_code_and_status():
    response = exception_handler(NotFound("No such customer."), {})

    assert response.status_code == 404
    assert response.data == {"code": "not_found", "detail": "No such customer.", "errors": {}}


def test_a_lone_surrogate_echoed_in_an_error_is_a_400_with_the_same_string(db):
    rep = TeamMembershipFactory(role=TeamMembership.Role.REP).user
    http = APIClient()
    http.force_login(rep)
    # Valid JSON whose string is not encodable as UTF-8 (hypothesis found it).
    body = '{"customer": null, "channel": "\\ud800", "direction": "inbound"}'

    response = http.post("/api/v1/interactions/", data=body, content_type="application/json")

    assert response.status_code == 400
    parsed = json.loads(response.content)
    assert parsed["errors"]["channel"] == ['"\ud800" is not a valid choice.']
    assert set(parsed["errors"]) >= {"customer", "channel", "occurred_at"}
    assert b"\\ud800" in response.content  # ASCII-escaped, so the bytes are UTF-8


def test_ordinary_responses_stay_utf8_text():
    response = ApiJSONRenderer().render({"name": "Zoë"})

    assert response == '{"name":"Zoë"}'.encode()
