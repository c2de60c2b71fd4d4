"""Nothing a customer receives carries internal notes, things to remember or staff data.

Users of SuiteCRM and EspoCRM report reminders e-mailed to customers with the
reps' internal notes. Here every customer-facing template is rendered for a
customer whose record is full of distinctive internal text, and none of it
may appear.

Convention: a template a customer sees (a public page, an e-mail to a
customer) lives under `<app>/templates/<app>/customer_facing/`; the few that
predate the convention are listed in CUSTOMER_FACING_TEMPLATES. The public
CSAT page is also checked end to end, through its real view.
"""

import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from crm.models import ConsentRecord, ProfileFact, Tag
from followups.models import FollowUp
from interactions.feedback_links import feedback_token_for_link
from interactions.models import Matter
from interactions.services import feedback_path, feedback_token_make
from tests import factories

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
CONVENTION_DIR = "customer_facing"
# Customer-facing templates from before the convention (template names).
CUSTOMER_FACING_TEMPLATES = [
    "interactions/feedback.html",
    "interactions/feedback_request_email.txt",
]

INTERNAL = {
    "fact": "Thinks our CEO is a Gorgonzola-scented fraud",
    "notes": "Internal: customer was rude, flag as Quarrelsome Plumtree",
    "promise": "Chase finance about the Wobbleton write-off",
    "consent": "Consent noted by Snodgrass during the Fizzlewick call",
    "accessibility": "Deaf in the left ear per Vantablack memo",
    "tag": "difficult-zanzibar",
    "matter": "Escalated Kumquat complaint",
    "rep_last_name": "Grimsdottir",
    "rep_username": "rep_grimsdottir",
    "rep_email": "grimsdottir@rapport.example",
    "other_staff": "Supervisor Ravenscroft-Oyelaran",
    "other_customer": "Ignatius Pemberton-Sloane",
}


@pytest.fixture
def poisoned():
    rep = factories.UserFactory(
        username=INTERNAL["rep_username"],
        first_name="Alex",
        last_name=INTERNAL["rep_last_name"],
        email=INTERNAL["rep_email"],
    )
    supervisor = factories.UserFactory(first_name="Supervisor", last_name="Ravenscroft-Oyelaran")
    team = factories.TeamFactory()
    factories.TeamMembershipFactory(team=team, user=rep)
    factories.TeamMembershipFactory(team=team, user=supervisor, role="supervisor")
    customer = factories.CustomerFactory(
        full_name="Mina Customer",
        preferred_name="Mina",
        accessibility_needs=INTERNAL["accessibility"],
        owner=rep,
    )
    customer.tags.add(Tag.objects.create(name=INTERNAL["tag"]))
    factories.CustomerFactory(full_name=INTERNAL["other_customer"])
    ProfileFact.objects.create(
        customer=customer, text=INTERNAL["fact"], recorded_by=rep, recorded_at=timezone.now()
    )
    ConsentRecord.objects.create(
        customer=customer,
        channel="email",
        status="granted",
        method="verbal",
        note=INTERNAL["consent"],
        recorded_at=timezone.now(),
    )
    matter = Matter.objects.create(
        customer=customer,
        subject=INTERNAL["matter"],
        opened_at=timezone.now(),
        last_contact_at=timezone.now(),
    )
    interaction = factories.InteractionFactory(
        customer=customer,
        rep=rep,
        team=team,
        summary=INTERNAL["notes"],
        subject="Your order 1234",
        matter=matter,
    )
    followup = factories.FollowUpFactory(
        customer=customer,
        owner=rep,
        team=team,
        origin_interaction=interaction,
        action=INTERNAL["promise"],
    )
    return {
        "customer": customer,
        "interaction": interaction,
        "followup": followup,
        "matter": matter,
        "rep": rep,
        "supervisor": supervisor,
    }


def _leaks(text: str) -> list[str]:
    folded = text.casefold()
    return [name for name, value in INTERNAL.items() if value.casefold() in folded]


def _convention_templates() -> list[str]:
    names = []
    for templates_dir in ROOT.glob("*/templates"):
        for path in templates_dir.rglob(f"{CONVENTION_DIR}/*"):
            if path.is_file():
                names.append(str(path.relative_to(templates_dir)))
    return sorted(names)


def customer_facing_templates() -> list[str]:
    return sorted({*CUSTOMER_FACING_TEMPLATES, *_convention_templates()})


def test_the_listed_customer_facing_templates_exist():
    for name in CUSTOMER_FACING_TEMPLATES:
        assert any((base / name).is_file() for base in ROOT.glob("*/templates")), name


def test_every_customer_facing_template_renders_without_internal_data(poisoned):
    """Each template gets every object it might reach for; it must pick only what is public."""
    context = {
        **poisoned,
        "user": poisoned["customer"],  # a template must not assume a staff user
        "rep_first_name": poisoned["rep"].first_name,
        "channel": "Phone",
        "occurred_at": poisoned["interaction"].occurred_at,
        "subject": poisoned["interaction"].subject,
        "feedback_url": "https://rapport.example"
        + feedback_path(interaction_id=poisoned["interaction"].pk),
        "link_error": "",
        "given": None,
        "customer_name": poisoned["customer"].display_name,
        "url": "https://rapport.example" + feedback_path(interaction_id=poisoned["interaction"].pk),
    }
    rendered = {}
    for name in customer_facing_templates():
        rendered[name] = render_to_string(name, context)

    assert rendered, "no customer-facing template found"
    assert {name: _leaks(text) for name, text in rendered.items() if _leaks(text)} == {}
    # The customer's own first name and the rep's first name are what may show.
    page = rendered["interactions/feedback.html"]
    assert "Alex" in page


def test_csat_page_shows_the_customer_nothing_internal(poisoned):
    client = Client()  # the customer: no session
    url = feedback_path(interaction_id=poisoned["interaction"].pk)

    form_page = client.get(url)
    bad_post = client.post(url, {"score": "9"})
    thanks = client.post(url, {"score": "4", "comment": "ok"})
    again = client.get(url)

    for response in (form_page, bad_post, thanks, again):
        assert _leaks(response.content.decode()) == [], response.status_code
    assert form_page.status_code == 200
    assert "Your order 1234" in form_page.content.decode()
    assert thanks.status_code == 200


def test_broken_csat_links_reveal_nothing(poisoned):
    client = Client()
    token = feedback_token_make(interaction_id=poisoned["interaction"].pk)

    tampered = client.get(f"/interactions/feedback/{token[:-2]}xx/")
    unknown_token = feedback_token_for_link(uuid.uuid4())  # signed, but no such link
    unknown = client.get(f"/interactions/feedback/{unknown_token}/")

    assert tampered.status_code == 410
    assert unknown.status_code == 404
    for response in (tampered, unknown):
        assert _leaks(response.content.decode()) == []


def test_a_staff_session_does_not_leak_into_the_customer_page(poisoned):
    # A rep opening the customer's link (to check it) still sees only the customer view.
    client = Client()
    client.force_login(poisoned["rep"])

    response = client.get(feedback_path(interaction_id=poisoned["interaction"].pk))

    leaks = [name for name in _leaks(response.content.decode()) if not name.startswith("rep_")]
    assert leaks == []


def test_followup_reminders_go_to_staff_only(poisoned, mailoutbox):
    """The engine's e-mails (reminders, overdue, escalation) never reach the customer."""
    from followups.tasks import sweep

    FollowUp.objects.filter(pk=poisoned["followup"].pk).update(
        due_at=timezone.now() - timezone.timedelta(hours=30),
        next_action_at=timezone.now() - timezone.timedelta(hours=1),
    )
    customer_addresses = {"mina@customer.example"}
    factories.ContactPointFactory(
        customer=poisoned["customer"], kind="email", value="mina@customer.example"
    )

    sweep()
    _deliver_outbox()

    assert mailoutbox, "the sweep sent nothing: the check below would be vacuous"
    for message in mailoutbox:
        assert not customer_addresses & {addr.lower() for addr in message.recipients()}
    assert INTERNAL["rep_email"] in {addr for m in mailoutbox for addr in m.recipients()}


def _deliver_outbox() -> None:
    """Run the notification deliveries the sweep queued (synchronously, in-process)."""
    from followups import tasks

    deliver = getattr(tasks, "notification_deliver", None) or getattr(
        tasks, "deliver_notification", None
    )
    if deliver is None:
        return
    from followups.models import Notification

    for notification_id in Notification.objects.values_list("pk", flat=True):
        deliver(notification_id)


def test_csat_email_to_the_customer_carries_nothing_internal(poisoned, mailoutbox):
    from interactions.services import interaction_feedback_request_send

    factories.ContactPointFactory(
        customer=poisoned["customer"], kind="email", value="mina@customer.example"
    )

    sent = interaction_feedback_request_send(
        interaction_id=poisoned["interaction"].pk, base_url="https://rapport.example/"
    )

    assert sent is True
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["mina@customer.example"]
    everything = "\n".join(
        [message.subject, message.body, *(str(value) for value in message.extra_headers.values())]
        + [alternative[0] for alternative in getattr(message, "alternatives", [])]
    )
    assert _leaks(everything) == []
    assert "Mina" in message.body
    link = re.search(r"https://rapport\.example(/\S+)", message.body).group(1)
    assert _leaks(Client().get(link).content.decode()) == []
