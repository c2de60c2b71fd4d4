"""core/templatetags/id_urls.py: `{% id_url %}` gives what `{% url %}` gives."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from core.templatetags.id_urls import id_url

ROUTES = [
    "interactions:interaction-matter",
    "interactions:interaction-feedback-request",
    "crm:customer-detail",
    "followups:detail",
    "followups:complete",
    "board:acknowledge",
]


@pytest.mark.parametrize("viewname", ROUTES)
@pytest.mark.parametrize("pk", [0, 1, 7, 42, 10**6, 2**63 - 1])
def test_the_same_url_as_reverse(viewname, pk):
    assert id_url(viewname, pk) == reverse(viewname, args=[pk])


def test_under_a_script_prefix_too():
    set_script_prefix("/rapport/")
    try:
        assert id_url("crm:customer-detail", 5) == reverse("crm:customer-detail", args=[5])
        assert id_url("crm:customer-detail", 5).startswith("/rapport/")
    finally:
        clear_script_prefix()
    assert not id_url("crm:customer-detail", 5).startswith("/rapport/")


def test_anything_but_an_int_id_is_reverse_s_own_answer():
    assert id_url("crm:customer-detail", "12") == reverse("crm:customer-detail", args=["12"])
    with pytest.raises(NoReverseMatch):
        id_url("crm:customer-detail", "x")
    with pytest.raises(NoReverseMatch):
        id_url("crm:customer-detail", -1)


def test_a_route_without_one_int_id_is_refused():
    with pytest.raises(NoReverseMatch):
        id_url("crm:customer-list", 3)


def test_the_template_tag():
    rendered = Template("{% load id_urls %}{% id_url 'crm:customer-detail' pk %}").render(
        Context({"pk": 31})
    )
    assert rendered == reverse("crm:customer-detail", args=[31])
