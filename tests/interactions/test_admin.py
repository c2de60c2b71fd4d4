"""Interactions and matters in the admin: every save is an interactions.services call."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from interactions import matters, services
from interactions.models import Feedback, Interaction, InteractionCategory, Matter
from tests.admin_forms import form_errors, post_form
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def categories(db):
    # Seeded by a migration, but a transactional test elsewhere may have flushed them.
    for slug in ("question", "complaint"):
        InteractionCategory.objects.get_or_create(slug=slug, defaults={"name": slug.title()})


def _contact(customer, when, **fields) -> dict[str, str]:
    return {
        "customer": str(customer.pk),
        "channel": "phone",
        "direction": "inbound",
        "occurred_at_0": when.strftime("%Y-%m-%d"),
        "occurred_at_1": when.strftime("%H:%M:%S"),
        "duration_seconds": "120",
        "source": "manual",
        **fields,
    }


def test_contacts_added_in_the_admin_follow_the_matter_rule(client, superuser, customer, rep):
    client.force_login(superuser)
    earlier = timezone.now() - timedelta(hours=3)
    url = reverse("admin:interactions_interaction_add")

    first = post_form(
        client, url, _contact(customer, earlier, category="question", rep=str(rep.pk))
    )
    second = post_form(
        client, url, _contact(customer, earlier + timedelta(hours=1), category="question")
    )

    assert (first.status_code, second.status_code) == (302, 302)
    opening, repeat = Interaction.objects.filter(customer=customer).order_by("occurred_at")
    assert opening.matter_id == repeat.matter_id is not None
    assert (opening.is_repeat_contact, repeat.is_repeat_contact) == (False, True)
    assert opening.team_id == rep.team_memberships.get().team_id  # the rep's team, by the service
    assert Matter.objects.get().contact_count == 2
    customer.refresh_from_db()
    assert customer.last_activity_at == repeat.occurred_at


def test_a_contact_the_service_refuses_is_shown_in_the_form_and_not_saved(
    client, superuser, customer
):
    client.force_login(superuser)

    response = post_form(
        client,
        reverse("admin:interactions_interaction_add"),
        _contact(customer, timezone.now() + timedelta(days=2), subject="From the future"),
    )

    assert form_errors(response) == {"occurred_at": ["Cannot be in the future."]}
    assert "From the future" in response.content.decode()  # the values are kept
    assert not Interaction.objects.exists()
    assert not Matter.objects.exists()


def _change_fields(interaction: Interaction, **changes) -> dict[str, str]:
    occurred = timezone.localtime(interaction.occurred_at)
    fields = {
        "channel": interaction.channel,
        "direction": interaction.direction,
        "occurred_at_0": occurred.strftime("%Y-%m-%d"),
        "occurred_at_1": occurred.strftime("%H:%M:%S"),
        "duration_seconds": str(interaction.duration_seconds),
        "rep": str(interaction.rep_id or ""),
        "team": str(interaction.team_id or ""),
        "category": interaction.category_id or "",
        "outcome": interaction.outcome,
        "subject": interaction.subject,
        "summary": interaction.summary,
        "sentiment": "" if interaction.sentiment is None else str(interaction.sentiment),
        "from_number": interaction.from_number,
        "to_number": interaction.to_number,
        "recording_url": interaction.recording_url,
        "disposition": interaction.disposition,
        "location": interaction.location,
        "matter": str(interaction.matter_id or ""),
    }
    fields.update(changes)
    return fields


def _log(customer, hours_ago: int, category: str) -> Interaction:
    return services.interaction_log(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=timezone.now() - timedelta(hours=hours_ago),
        category=category,
    )


def test_a_category_changed_in_the_admin_moves_the_contact_and_recounts(
    client, superuser, customer
):
    opening = _log(customer, 5, "question")
    repeat = _log(customer, 4, "question")
    client.force_login(superuser)

    response = post_form(
        client,
        reverse("admin:interactions_interaction_change", args=[repeat.pk]),
        _change_fields(repeat, category="complaint", outcome="resolved"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    repeat.refresh_from_db()
    asked = Matter.objects.get(pk=opening.matter_id)
    assert asked.contact_count == 1
    assert repeat.matter_id != asked.pk
    moved_to = Matter.objects.get(pk=repeat.matter_id)
    assert (moved_to.category_id, moved_to.contact_count) == ("complaint", 1)
    assert moved_to.status == Matter.Status.RESOLVED  # the outcome resolves it (service rule)
    assert repeat.is_repeat_contact is False


def test_linking_a_contact_to_another_customers_matter_is_refused_in_the_form(
    client, superuser, customer
):
    mine = _log(customer, 5, "question")
    theirs = _log(CustomerFactory(), 5, "question")
    client.force_login(superuser)

    response = post_form(
        client,
        reverse("admin:interactions_interaction_change", args=[mine.pk]),
        _change_fields(mine, matter=str(theirs.matter_id), subject="Moved?"),
    )

    assert form_errors(response) == {"matter": ["That matter belongs to another customer."]}
    assert Interaction.objects.filter(pk=mine.pk).values_list("matter_id", "subject").get() == (
        mine.matter_id,
        "",
    )
    assert Matter.objects.get(pk=theirs.matter_id).contact_count == 1


def test_matters_are_edited_through_the_service_and_never_added(client, superuser, customer):
    contact = _log(customer, 5, "question")
    client.force_login(superuser)
    url = reverse("admin:interactions_matter_change", args=[contact.matter_id])

    add = client.get(reverse("admin:interactions_matter_add"))
    resolved = client.post(url, {"subject": "  Bill   too high ", "status": "resolved"})
    matter = Matter.objects.get(pk=contact.matter_id)
    reopened = client.post(url, {"subject": matter.subject, "status": "open"})

    assert add.status_code == 403
    assert resolved.status_code == 302
    assert (matter.subject, matter.status) == ("Bill too high", "resolved")
    assert matter.resolved_at is not None
    assert reopened.status_code == 302
    matter.refresh_from_db()
    assert (matter.status, matter.resolved_at, matter.contact_count) == ("open", None, 1)


def test_interactions_matters_and_feedback_are_not_deleted_in_the_admin(
    client, superuser, customer
):
    contact = _log(customer, 5, "question")
    feedback = services.interaction_feedback_give(interaction_id=contact.pk, score=4)
    client.force_login(superuser)

    answers = [
        client.post(reverse(f"admin:interactions_{name}_delete", args=[pk]), {"post": "yes"})
        for name, pk in (
            ("interaction", contact.pk),
            ("matter", contact.matter_id),
            ("feedback", feedback.pk),
        )
    ]
    feedback_change = client.post(
        reverse("admin:interactions_feedback_change", args=[feedback.pk]), {"score": "1"}
    )

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert feedback_change.status_code == 403
    assert Feedback.objects.get().score == 4
    assert Interaction.objects.filter(pk=contact.pk).exists()


def test_matter_update_refuses_what_it_may_not_change_naming_the_field(customer):
    from django.core.exceptions import ValidationError

    matter = Matter.objects.get(pk=_log(customer, 5, "question").matter_id)

    with pytest.raises(ValidationError) as counters:
        matters.matter_update(matter=matter, changes={"contact_count": 9})
    with pytest.raises(ValidationError) as status:
        matters.matter_update(matter=matter, changes={"status": "lost"})

    assert list(counters.value.message_dict) == ["contact_count"]
    assert list(status.value.message_dict) == ["status"]
    assert Matter.objects.filter(pk=matter.pk, contact_count=1, status="open").exists()


def test_a_rep_changed_in_the_admin_is_an_audited_attribution(client, superuser, customer):
    from core.models import AuditEntry
    from tests.factories import TeamFactory, TeamMembershipFactory

    team = TeamFactory(name="Desk")
    first, second = UserFactory(username="first_rep"), UserFactory(username="second_rep")
    for user in (first, second):
        TeamMembershipFactory(team=team, user=user)
    contact = services.interaction_log(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=timezone.now() - timedelta(hours=1),
        rep=first,
        team=team,
    )
    client.force_login(superuser)

    response = post_form(
        client,
        reverse("admin:interactions_interaction_change", args=[contact.pk]),
        _change_fields(contact, rep=str(second.pk)),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    entry = AuditEntry.objects.get(action="interaction.attributed")
    assert entry.actor == superuser
    assert entry.details["rep"] == [first.pk, second.pk]
