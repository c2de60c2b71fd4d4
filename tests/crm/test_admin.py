import pytest
from django.urls import reverse

from crm.services import customer_create, customer_merge, fact_add
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_shows_customers_with_read_only_history(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    customer = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    duplicate = customer_create(full_name="Ann Lee")
    fact_add(customer=customer, text="Likes tea", actor=admin)
    customer_merge(source=duplicate, target=customer, actor=admin)
    client.force_login(admin)

    change = client.get(reverse("admin:crm_customer_change", args=[customer.pk]))
    listing = client.get(reverse("admin:crm_customer_changelist"), {"q": "ann"})
    merges = client.get(reverse("admin:crm_customermerge_changelist"))

    assert change.status_code == 200
    assert "Likes tea" in change.content.decode()
    assert listing.status_code == 200
    assert merges.status_code == 200
    assert client.get(reverse("admin:crm_customermerge_add")).status_code == 403


def _inline_management(html: str) -> dict[str, str]:
    import re

    data = {}
    for prefix in re.findall(r'name="([^"]+)-TOTAL_FORMS"', html):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def _profile_post(**fields) -> dict[str, str]:
    base = {"full_name": "", "time_zone": "UTC", "preferred_language": ""}
    base.update(fields)
    return base


def test_admin_edits_go_through_the_service_normalised_and_audited(client):
    from core.models import AuditEntry
    from crm.models import Customer

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    add_url = reverse("admin:crm_customer_add")
    management = _inline_management(client.get(add_url).content.decode())

    added = client.post(
        add_url,
        {**_profile_post(full_name="Siobhán Walsh", preferred_language="en_ie"), **management},
    )

    assert added.status_code == 302, added.content.decode()[:2000]
    customer = Customer.objects.get(full_name="Siobhán Walsh")
    assert customer.preferred_language == "en-IE"
    assert AuditEntry.objects.filter(action="customer.created", customer_id=customer.pk).exists()

    change_url = reverse("admin:crm_customer_change", args=[customer.pk])
    changed = client.post(
        change_url,
        {
            **_profile_post(full_name="Siobhán Walsh", preferred_language="ga", pronouns="she/her"),
            **_inline_management(client.get(change_url).content.decode()),
        },
    )

    assert changed.status_code == 302, changed.content.decode()[:2000]
    customer.refresh_from_db()
    assert (customer.preferred_language, customer.pronouns) == ("ga", "she/her")
    update = AuditEntry.objects.get(action="customer.updated", customer_id=customer.pk)
    assert sorted(update.details["fields"]) == ["preferred_language", "pronouns"]


# --- every admin save goes through crm.services -----------------------------------------


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_a_customer_the_admin_refuses_is_shown_in_the_form_and_not_saved(client, superuser):
    from core.models import AuditEntry
    from crm.models import Customer
    from tests.admin_forms import form_errors, post_form

    client.force_login(superuser)

    response = post_form(
        client,
        reverse("admin:crm_customer_add"),
        _profile_post(full_name="Half Quiet", quiet_hours_start="22:00"),
    )

    assert "quiet_hours_both_or_neither" in str(form_errors(response))
    assert 'value="Half Quiet"' in response.content.decode()
    assert not Customer.objects.filter(full_name="Half Quiet").exists()
    assert not AuditEntry.objects.filter(action="customer.created").exists()


def test_customers_are_not_deleted_in_the_admin(client, superuser):
    from crm.models import Customer

    customer = customer_create(full_name="Ann Lee")
    client.force_login(superuser)

    page = client.post(reverse("admin:crm_customer_delete", args=[customer.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "delete_selected", "_selected_action": [customer.pk], "post": "yes"},
    )

    assert page.status_code == 403
    assert bulk.status_code == 302  # back to the list: delete_selected is not offered
    listing = client.get(reverse("admin:crm_customer_changelist"))
    assert "delete_selected" not in listing.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()


def _membership_rows(rows: list[dict], initial: int = 0) -> dict[str, str]:
    data = {
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(initial),
    }
    for index, row in enumerate(rows):
        data.update({f"memberships-{index}-{name}": value for name, value in row.items()})
    return data


def test_a_team_added_in_the_admin_is_created_by_the_service_with_its_members(client, superuser):
    from core.models import AuditEntry
    from crm.models import Team, TeamMembership

    rep = UserFactory(username="maria")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:crm_team_add"),
        {
            "name": "  Billing ",
            "time_zone": "Europe/Dublin",
            "holiday_country": "ie",
            **_membership_rows([{"user": str(rep.pk), "role": "supervisor"}]),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(name="Billing")
    assert (team.time_zone, team.holiday_country) == ("Europe/Dublin", "IE")
    assert list(TeamMembership.objects.filter(team=team).values_list("user_id", "role")) == [
        (rep.pk, "supervisor")
    ]
    entries = AuditEntry.objects.filter(target_type="team", target_id=str(team.pk)).order_by("pk")
    assert [(entry.action, entry.actor_id) for entry in entries] == [
        ("team.created", superuser.pk),
        ("team.member_added", superuser.pk),
    ]
    assert entries[1].details == {"user": rep.pk, "role": "supervisor"}


def test_a_team_changed_in_the_admin_goes_through_the_services(client, superuser):
    from core.models import AuditEntry
    from crm.models import TeamMembership
    from crm.services import team_create, team_member_add

    team = team_create(name="Support", time_zone="UTC")
    stays = UserFactory(username="stays")
    leaves = UserFactory(username="leaves")
    kept = team_member_add(team=team, user=stays, role="rep")
    dropped = team_member_add(team=team, user=leaves, role="rep")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:crm_team_change", args=[team.pk]),
        {
            "name": "Customer care",
            "time_zone": "UTC",
            "holiday_country": "",
            **_membership_rows(
                [
                    {"id": str(kept.pk), "team": str(team.pk), "user": str(stays.pk)}
                    | {"role": "supervisor"},
                    {"id": str(dropped.pk), "team": str(team.pk), "user": str(leaves.pk)}
                    | {"role": "rep", "DELETE": "on"},
                ],
                initial=2,
            ),
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    team.refresh_from_db()
    assert team.name == "Customer care"
    assert list(TeamMembership.objects.filter(team=team).values_list("user_id", "role")) == [
        (stays.pk, "supervisor")
    ]
    actions = list(
        AuditEntry.objects.filter(target_type="team", actor=superuser)
        .order_by("pk")
        .values_list("action", "details")
    )
    assert actions == [
        ("team.updated", {"fields": ["name"]}),
        ("team.member_removed", {"user": leaves.pk, "role": "rep"}),
        ("team.member_changed", {"user": stays.pk, "role": "supervisor"}),
    ]


def test_a_team_the_form_refuses_saves_nothing(client, superuser):
    from core.models import AuditEntry
    from crm.models import Team
    from tests.admin_forms import form_errors

    client.force_login(superuser)

    response = client.post(
        reverse("admin:crm_team_add"),
        {"name": "Nowhere", "time_zone": "Mars/Olympus", **_membership_rows([])},
    )

    assert list(form_errors(response)) == ["time_zone"]
    assert not Team.objects.filter(name="Nowhere").exists()
    assert not AuditEntry.objects.filter(target_type="team").exists()


def test_team_services_refuse_bad_input_naming_the_field(db):
    from django.core.exceptions import ValidationError

    from crm.services import team_create, team_member_add, team_update

    team = team_create(name="Support")
    with pytest.raises(ValidationError) as unknown_role:
        team_member_add(team=team, user=UserFactory(), role="boss")
    with pytest.raises(ValidationError) as taken_name:
        team_create(name="Support")
    with pytest.raises(ValidationError) as read_only:
        team_update(team=team, changes={"created_at": None})

    assert list(unknown_role.value.message_dict) == ["role"]
    assert list(taken_name.value.message_dict) == ["name"]
    assert list(read_only.value.message_dict) == ["created_at"]


def test_teams_are_not_deleted_in_the_admin(client, superuser):
    from crm.models import Team
    from crm.services import team_create

    team = team_create(name="Support")
    client.force_login(superuser)

    response = client.post(reverse("admin:crm_team_delete", args=[team.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Team.objects.filter(pk=team.pk).exists()
