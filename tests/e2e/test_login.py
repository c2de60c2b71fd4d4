import pytest

from tests.factories import CustomerFactory, TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_rep_logs_in_and_finds_a_customer_by_name(page, login_as, screenshot):
    rep = TeamMembershipFactory(user=UserFactory(username="maria")).user
    CustomerFactory(full_name="Zoë Moreau")
    CustomerFactory(full_name="Haruto Sato")

    login_as(page, rep)
    page.fill("input[name=q]", "Moreau")
    page.keyboard.press("Enter")

    rows = page.locator("table.list tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    assert "Zoë Moreau" in rows.first.inner_text()
    screenshot(page, "customer-search")


def test_a_wrong_password_stays_on_the_login_page_with_a_message(page):
    UserFactory(username="james")

    page.goto("/accounts/login/")
    page.fill("#id_username", "james")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")

    assert "/accounts/login/" in page.url
    assert "didn't match" in page.locator(".error").inner_text()
