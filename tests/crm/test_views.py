from datetime import UTC, datetime, time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from crm.models import ProfileFact
from crm.services import (
    consent_record,
    contact_point_add,
    customer_create,
    customer_merge,
    fact_add,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(customer) -> str:
    return reverse("crm:customer-detail", args=[customer.pk])


def test_the_profile_card_shows_who_the_person_is(rep_browser, rep):
    customer = customer_create(
        full_name="Jürgen Müller",
        preferred_name="Jürgen",
        pronunciation="YUR-gen MUE-ler",
        pronouns="he/him",
        time_zone="Europe/Berlin",
        preferred_language="de-DE",
        preferred_channel="phone",
        quiet_hours_start=time(20),
        quiet_hours_end=time(8),
        phones=["+49 30 901820"],
    )
    consent_record(customer=customer, channel="phone", status="granted", method="verbal", actor=rep)
    fact_add(
        customer=customer,
        text="Plays cello on Sundays",
        category="interests",
        actor=rep,
        is_pinned=True,
    )
    fact_add(customer=customer, text="Son Max studies in Leipzig", category="family", actor=rep)

    # 21:30 UTC is 22:30 in Berlin: inside his quiet hours.
    with time_machine.travel(datetime(2026, 6, 1, 20, 30, tzinfo=UTC), tick=False):
        response = rep_browser.get(page_url(customer))

    html = response.content.decode()
    assert response.status_code == 200
    for text in [
        "Jürgen",
        "(he/him)",
        "YUR-gen MUE-ler",
        "de-DE",
        "Mon 22:30",
        "Europe/Berlin",
        "Phone: granted",
        "Quiet hours: it is 22:30",
        "Plays cello on Sundays",
        "Son Max studies in Leipzig",
        "+4930901820",
    ]:
        assert text in html, text
    assert html.count("Plays cello on Sundays") == 2  # pinned in the card and in the list


def test_no_quiet_hours_warning_outside_them(rep_browser):
    customer = customer_create(
        full_name="Ann Lee",
        time_zone="Europe/London",
        quiet_hours_start=time(21),
        quiet_hours_end=time(8),
    )

    with time_machine.travel(datetime(2026, 6, 1, 12, tzinfo=UTC), tick=False):
        html = rep_browser.get(page_url(customer)).content.decode()

    assert "quiet-warning" not in html


def test_notes_are_rendered_escaped(rep_browser, rep):
    customer = customer_create(full_name="<script>alert(1)</script>")
    fact_add(customer=customer, text='<img src=x onerror="alert(2)">', actor=rep, is_pinned=True)

    html = rep_browser.get(page_url(customer)).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<img src=x onerror="alert(2)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


@override_settings(
    CUSTOMER_PAGE_PANELS=[
        {"title": "Missing app", "url_name": "nowhere:nothing"},
        {"title": "Contact", "url_name": "crm:customer-profile"},
    ]
)
def test_panels_load_by_url_and_a_missing_app_is_skipped(rep_browser):
    customer = customer_create(full_name="Ann Lee")

    html = rep_browser.get(page_url(customer)).content.decode()

    assert "Missing app" not in html
    assert f'hx-get="/customers/{customer.pk}/profile/"' in html
    assert 'hx-trigger="load"' in html


def test_a_merged_id_redirects_to_the_survivor(rep_browser, supervisor):
    survivor = customer_create(full_name="Ann Lee")
    duplicate = customer_create(full_name="Ann Lee")
    customer_merge(source=duplicate, target=survivor, actor=supervisor)

    response = rep_browser.get(page_url(duplicate))

    assert response.status_code == 302
    assert response["Location"] == page_url(survivor)


def test_add_edit_pin_and_delete_a_fact_in_place(rep_browser, rep):
    customer = customer_create(full_name="Ann Lee")

    added = rep_browser.post(
        reverse("crm:customer-fact-add", args=[customer.pk]),
        {"category": "family", "text": "Twins born in May", "is_pinned": "on"},
        **HTMX,
    )
    fact = ProfileFact.objects.get(customer=customer)
    edited = rep_browser.post(
        reverse("crm:customer-fact-edit", args=[customer.pk, fact.pk]),
        {"category": "family", "text": "Twins (Leo, Ada) born in May"},
        **HTMX,
    )
    deleted = rep_browser.post(
        reverse("crm:customer-fact-delete", args=[customer.pk, fact.pk]), **HTMX
    )

    assert added.status_code == 200
    assert 'id="facts"' in added.content.decode()
    assert 'hx-swap-oob="true"' in added.content.decode()  # the pinned list in the card too
    assert "Twins (Leo, Ada) born in May" in edited.content.decode()
    assert "Twins" not in deleted.content.decode().split("<form")[0]
    fact.refresh_from_db()
    assert fact.recorded_by == rep
    assert fact.deleted_at is not None
    assert [revision.action for revision in fact.revisions.order_by("pk")] == [
        "created",
        "edited",
        "deleted",
    ]


def test_an_overlong_fact_shows_the_error_and_saves_nothing(rep_browser):
    customer = customer_create(full_name="Ann Lee")

    response = rep_browser.post(
        reverse("crm:customer-fact-add", args=[customer.pk]),
        {"category": "other", "text": "x" * 1001},
        **HTMX,
    )

    # 400 with the form fragment: rapport.js swaps an HTML 400 in (htmx alone would not).
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "at most 1000 characters" in response.content.decode()
    assert ProfileFact.objects.count() == 0


def test_edit_the_profile_in_place_with_errors_named(rep_browser):
    customer = customer_create(full_name="Ann Lee", time_zone="Europe/London")
    url = reverse("crm:customer-profile", args=[customer.pk])
    fields = {
        "full_name": "Ann Lee",
        "time_zone": "Europe/London",
        "preferred_channel": "",
        "tags": "",
    }

    form = rep_browser.get(reverse("crm:customer-profile-edit", args=[customer.pk]), **HTMX)
    bad = rep_browser.post(
        url, {**fields, "time_zone": "Mars/Olympus", "pronouns": "she/her"}, **HTMX
    )
    good = rep_browser.post(url, {**fields, "pronouns": "she/her", "tags": "vip, billing"}, **HTMX)

    assert 'name="time_zone"' in form.content.decode()
    assert "is not an IANA time zone" in bad.content.decode()
    assert "(she/her)" in good.content.decode()
    customer.refresh_from_db()
    assert customer.pronouns == "she/her"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["billing", "vip"]


def test_add_a_contact_point_in_any_format(rep_browser):
    customer = customer_create(full_name="Ann Lee")
    url = reverse("crm:customer-contact-point-add", args=[customer.pk])

    good = rep_browser.post(
        url, {"kind": "phone", "value": "(415) 555-0100", "label": "mobile"}, **HTMX
    )
    bad = rep_browser.post(url, {"kind": "email", "value": "nope", "label": "work"}, **HTMX)

    assert "+14155550100" in good.content.decode()
    assert "valid email" in bad.content.decode()
    assert customer.contact_points.count() == 1


def test_only_supervisors_see_and_use_the_merge_button(rep_browser, client, supervisor):
    survivor = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    duplicate = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    merge_url = reverse("crm:customer-merge", args=[survivor.pk])

    rep_html = rep_browser.get(page_url(survivor)).content.decode()
    assert "Possible duplicates" in rep_html
    assert "Merge into this customer" not in rep_html
    assert rep_browser.post(merge_url, {"source": duplicate.pk}).status_code == 403

    client.force_login(supervisor)
    assert "Merge into this customer" in client.get(page_url(survivor)).content.decode()
    response = client.post(merge_url, {"source": duplicate.pk}, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == page_url(survivor)
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor


def _queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def _customer(index: int, *, points: int, facts: int, actor):
    customer = customer_create(full_name=f"Person {index}", tags=["a", "b"])
    for point in range(points):
        contact_point_add(
            customer=customer,
            kind="email",
            value=f"p{index}.{point}@example.org",
            is_primary=point == 0,
        )
    for fact in range(facts):
        fact_add(customer=customer, text=f"fact {fact}", actor=actor, is_pinned=fact % 2 == 0)
    consent_record(customer=customer, channel="sms", status="granted", method="verbal", actor=actor)
    return customer


def test_page_and_list_query_counts_do_not_grow(rep_browser, rep, django_assert_max_num_queries):
    small = _customer(1, points=1, facts=1, actor=rep)
    _customer(0, points=1, facts=1, actor=rep)  # a lookalike, so both pages list duplicates
    list_url = reverse("crm:customer-list")
    small_page = _queries(rep_browser, page_url(small))
    small_list = _queries(rep_browser, list_url)
    small_search = _queries(rep_browser, list_url, q="person")

    big = _customer(2, points=6, facts=8, actor=rep)
    for index in range(3, 12):
        _customer(index, points=2, facts=2, actor=rep)

    assert _queries(rep_browser, page_url(big)) == small_page
    assert _queries(rep_browser, list_url) == small_list
    assert _queries(rep_browser, list_url, q="person") == small_search
    # session+user 2, the viewer's roles and time zone 1 (crm.middleware), profile 5
    # (customer, tags, contact points, facts, consents), audit entry 1 (H6),
    # duplicates: shared contacts 1, similar names 4 (begin, the threshold, the
    # names, commit; inside a test's transaction: the threshold read, set, the
    # names, set back), their rows 1.
    with django_assert_max_num_queries(15):
        rep_browser.get(page_url(big))
    with django_assert_max_num_queries(11):
        rep_browser.get(list_url, {"q": "person"})


def test_one_match_opens_the_customer_and_the_list_shows_phones_as_people_write_them(
    rep_browser, settings, django_assert_max_num_queries
):
    settings.PHONE_DEFAULT_REGION = "US"
    customer = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    customer_create(full_name="Haruto Sato", phones=["+81 3-1234-5678"])

    for query in ("415 555 0100", "(415) 555-0100", "+1-415-555-0100", "ann lee"):
        # session, user, roles; by name: the words, the ranking, the row (by phone:
        # the count, the row); nothing the list would show (tags, contacts, consents).
        with django_assert_max_num_queries(6):
            response = rep_browser.get(reverse("crm:customer-list"), {"q": query})
        assert response.status_code == 302, query
        assert response["Location"] == page_url(customer)
    html = rep_browser.get(reverse("crm:customer-list")).content.decode()

    assert f'href="{page_url(customer)}"' in html
    assert "(415) 555-0100" in html  # national: the team's own region
    assert "+81 3-1234-5678" in html  # international: a number from elsewhere
    assert "+14155550100" not in html


def test_reps_land_on_my_day_and_supervisors_on_the_board(rep_browser, client):
    from crm.models import TeamMembership
    from tests.factories import TeamMembershipFactory

    assert rep_browser.get("/")["Location"] == reverse("followups:my-day")
    supervisor = TeamMembershipFactory(role=TeamMembership.Role.SUPERVISOR).user
    client.force_login(supervisor)
    assert client.get("/")["Location"] == reverse("board:board")


def test_the_list_says_when_a_name_search_shows_only_the_best_matches(rep_browser, monkeypatch):
    from crm import search

    for index in range(3):
        customer_create(full_name=f"Ann Lee{index}")
    monkeypatch.setattr(search, "NAME_SEARCH_LIMIT", 2)

    capped = rep_browser.get(reverse("crm:customer-list"), {"q": "ann lee"}).content.decode()
    monkeypatch.setattr(search, "NAME_SEARCH_LIMIT", 3)
    whole = rep_browser.get(reverse("crm:customer-list"), {"q": "ann lee0"}).content.decode()

    assert "Showing the best 2 matches" in capped
    assert "Ann Lee1" in capped
    assert "Ann Lee2" not in capped
    assert "Showing the best" not in whole


def test_people_outside_any_team_cannot_open_customers(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="outsider"))
    customer = customer_create(full_name="Ann Lee")

    assert client.get(page_url(customer)).status_code == 403
    assert client.get(reverse("crm:customer-list")).status_code == 403


def test_make_primary_and_remove_a_contact_point_in_place(rep_browser):
    customer = customer_create(full_name="Ann Lee", phones=["+14155550100", "+14155550101"])
    second = customer.contact_points.get(value="+14155550101")

    promoted = rep_browser.post(
        reverse("crm:customer-contact-point-primary", args=[customer.pk, second.pk]), **HTMX
    )
    first = customer.contact_points.get(value="+14155550100")
    removed = rep_browser.post(
        reverse("crm:customer-contact-point-remove", args=[customer.pk, first.pk]), **HTMX
    )

    assert promoted.status_code == 200
    assert removed.status_code == 200
    assert "+1 415-555-0100" not in removed.content.decode()
    assert list(customer.contact_points.values_list("value", "is_primary")) == [
        ("+14155550101", True)
    ]


def test_the_duplicates_page_lists_shared_contacts(rep_browser, django_assert_max_num_queries):
    first = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    second = customer_create(full_name="A. Lee", phones=["(415) 555-0100"])
    customer_create(full_name="Other", phones=["+14155550111"])

    with django_assert_max_num_queries(10):
        response = rep_browser.get(reverse("crm:customer-duplicates"))

    html = response.content.decode()
    assert "Phone +14155550100" in html
    assert f'href="{page_url(first)}"' in html
    assert f'href="{page_url(second)}"' in html
    assert "+14155550111" not in html


def test_the_list_counts_at_most_the_cap_and_says_so(rep_browser, monkeypatch):
    from core import pagination

    for index in range(3):
        customer_create(full_name=f"Ann Lee{index}")
    monkeypatch.setattr(pagination, "COUNT_CAP", 2)

    with CaptureQueriesContext(connection) as queries:
        capped = rep_browser.get(reverse("crm:customer-list")).content.decode()
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    whole = rep_browser.get(reverse("crm:customer-list")).content.decode()

    assert len(counts) == 1
    assert "LIMIT 3" in counts[0]  # COUNT_CAP + 1 rows at most, never the whole table
    assert "More than 2 customers" in capped
    assert "Page 1 of" not in capped
    assert "More than" not in whole
    assert "Page 1 of 1" in whole
