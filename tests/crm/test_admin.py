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
