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
