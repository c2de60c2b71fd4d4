"""The Content-Security-Policy blocks nothing Rapport itself needs (H6).

A real browser opens the main pages under the production policy and reports
every CSP violation; htmx must still swap fragments (the customer page loads
its panels by htmx, so a blocked script would leave them empty).
"""

import pytest

from crm.models import TeamMembership
from interactions.services import feedback_path
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    return violations


def test_pages_run_under_the_policy_without_violations(page, login_as, live_server):
    team = factories.TeamFactory()
    supervisor = factories.UserFactory(username="csp_supervisor")
    factories.TeamMembershipFactory(team=team, user=supervisor, role=TeamMembership.Role.SUPERVISOR)
    customer = factories.CustomerFactory(full_name="Policy Person")
    interaction = factories.InteractionFactory(customer=customer, rep=supervisor, team=team)
    violations = _watch_csp(page)

    login_as(page, supervisor)
    for path in (
        "/customers/",
        f"/customers/{customer.pk}/",
        "/followups/my-day/",
        "/supervisor/board/",
        "/supervisor/metrics/",
    ):
        response = page.goto(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")

    page.goto(f"/customers/{customer.pk}/")
    page.wait_for_load_state("networkidle")
    # htmx ran: the timeline fragment was fetched and swapped in.
    assert "Asked about the bill." in page.content()

    page.context.clear_cookies()
    page.goto(feedback_path(interaction_id=interaction.pk))
    page.wait_for_load_state("networkidle")

    assert violations == []


def test_the_api_docs_render_offline_under_the_policy(page, live_server):
    """Swagger UI comes from the project's static files: with every other origin
    unreachable the docs still render, and the policy reports nothing."""
    violations = _watch_csp(page)
    outside: list[str] = []

    def only_here(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto("/api/docs/")
    page.locator(".swagger-ui .information-container").wait_for()
    assert "Rapport API" in page.locator(".swagger-ui .info").inner_text()
    assert outside == []
    assert violations == []
