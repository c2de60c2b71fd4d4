"""Open input: no bytes make the e-mail parser or the ingestion endpoint fail with a 500."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from interactions.models import Interaction
from interactions.sources.email import EmailParseError, email_parse
from tests import factories

FIXTURES = Path(__file__).resolve().parent / "email_fixtures"
SAMPLES = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]


def mutated(sample: bytes, data) -> bytes:
    """A real message with a slice replaced by random bytes: broken headers, parts, encodings."""
    start = data.draw(st.integers(0, len(sample)))
    end = data.draw(st.integers(start, min(len(sample), start + 80)))
    return sample[:start] + data.draw(st.binary(max_size=80)) + sample[end:]


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_parser_never_raises_anything_but_a_field_error_on_random_bytes(raw):
    errors: dict = {}
    try:
        parsed = email_parse(raw)
    except EmailParseError as error:
        errors = error.errors
    if errors:
        assert set(errors) <= {"message", "from"}
        return
    assert "\x00" not in parsed.text
    assert len(parsed.external_id) <= 255


@settings(max_examples=300, deadline=None)
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_parser_survives_mutated_real_messages(sample, data):
    raw = mutated(sample, data)
    try:
        parsed = email_parse(raw)
    except EmailParseError:
        return
    parsed.text.encode("utf-8")  # storable
    parsed.subject.encode("utf-8")
    assert parsed.message_id.startswith("<")


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_endpoint_answers_201_200_or_400_never_500(sample, data):
    team = factories.TeamFactory()
    user = factories.UserFactory()
    factories.TeamMembershipFactory(team=team, user=user)
    client = APIClient()
    client.force_login(user)
    raw = mutated(sample, data)
    before = Interaction.objects.count()

    response = client.generic(
        "POST", "/api/v1/interactions/email/", raw, content_type="message/rfc822"
    )

    assert response.status_code in (200, 201, 400), response.content[:500]
    if response.status_code == 400:
        assert response.json()["errors"]
        assert Interaction.objects.count() == before
    else:
        assert Interaction.objects.filter(pk=response.json()["interaction"]["id"]).exists()
