import pytest

from tests.factories import CustomerFactory, TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_rep_logs_in_and_finds_a_customer_by_name(page, login_as, screenshot):
    rep = TeamMembershipFactory(user=UserFactory(username="maria")).user
    CustomerFactory(full_name="Zoë Moreau")
    CustomerFactory(full_name="Haruto Sato")

    login_as(page, rep)
    assert page.url.endswith("/followups/my-day/")  # a rep's day starts on My day
    page.keyboard.press("/")  # the search shortcut focuses the top bar's search
    page.keyboard.type("Moreau")
    page.keyboard.press("Enter")

    # One match: the customer opens straight away.
    page.wait_for_url("**/customers/*/")
    assert "Zoë Moreau" in page.locator("h1").inner_text()
    screenshot(page, "customer-search")


def test_the_question_mark_lists_the_shortcuts(page, login_as):
    rep = TeamMembershipFactory(user=UserFactory(username="james")).user
    login_as(page, rep)
    dialog = page.locator("#shortcuts")
    assert not dialog.is_visible()
    page.keyboard.press("?")
    assert dialog.is_visible()
    assert "Log an interaction" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()


def test_a_wrong_password_stays_on_the_login_page_with_a_message(page):
    UserFactory(username="james")

    page.goto("/accounts/login/")
    page.fill("#id_username", "james")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")

    assert "/accounts/login/" in page.url
    assert "didn't match" in page.locator(".error").inner_text()
