import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from interactions.models import Interaction
from interactions.services import interaction_log
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def test_source_and_external_id_are_unique_together_in_the_database():
    InteractionFactory(source="asterisk", external_id="1709632800.18")

    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionFactory(source="asterisk", external_id="1709632800.18")

    InteractionFactory(source="twilio", external_id="1709632800.18")
    assert Interaction.objects.filter(external_id="1709632800.18").count() == 2


def test_manual_interactions_without_external_id_do_not_collide():
    InteractionFactory(source="manual", external_id="")
    InteractionFactory(source="manual", external_id="")

    assert Interaction.objects.filter(source="manual").count() == 2


def test_an_unknown_channel_is_rejected_by_the_service_and_the_database():
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as caught:
        interaction_log(
            customer=customer, channel="fax", direction="inbound", occurred_at=timezone.now()
        )
    assert "channel" in caught.value.message_dict

    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(
            customer=customer, channel="fax", direction="inbound", occurred_at=timezone.now()
        )
