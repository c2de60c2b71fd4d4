"""Open input on POST /api/v1/interactions/: any JSON gives 201 or a 400 naming fields, never 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from interactions.models import Interaction
from tests import factories

pytestmark = pytest.mark.django_db

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "phone",
            "email",
            "inbound",
            "2026-03-01T10:00:00Z",
            "3000-01-01T00:00:00Z",
            "\x00",
            "\ud800",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [
    "customer", "channel", "direction", "occurred_at", "ended_at", "duration_seconds", "rep",
    "team", "subject", "summary", "outcome", "category", "sentiment", "from_number", "recording_url",
]  # fmt: skip


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_create_never_answers_500(data):
    team = factories.TeamFactory()
    user = factories.UserFactory()
    factories.TeamMembershipFactory(team=team, user=user)
    customer = factories.CustomerFactory()
    client = APIClient()
    client.force_login(user)
    body = {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-01T10:00:00Z",
    }
    for name in data.draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=4)):
        body[name] = data.draw(json_values)
    before = Interaction.objects.count()

    # Encoded here: ASCII escapes keep lone surrogates, and NaN/Infinity go out as
    # Python writes them (not JSON): the server must cope with both.
    raw = json.dumps(body, ensure_ascii=True, allow_nan=True)
    response = client.generic("POST", "/api/v1/interactions/", raw, content_type="application/json")

    assert response.status_code in (201, 400), (body, response.content[:300])
    if response.status_code == 400:
        error = response.json()
        # Not JSON at all (NaN): a parse error; otherwise the offending fields are named.
        assert error["code"] in ("invalid", "parse_error")
        assert error["code"] == "parse_error" or error["errors"]
        assert Interaction.objects.count() == before
    else:
        assert Interaction.objects.count() == before + 1
