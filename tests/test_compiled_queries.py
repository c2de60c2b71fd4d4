"""core/compiled_queries.py: a compiled query gives what the ORM gives."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.compiled_queries import CompiledQuery
from crm import selectors as crm_selectors
from crm.models import ContactPoint, Customer
from followups import selectors as followup_selectors
from interactions.models import Interaction
from tests import factories

pytestmark = pytest.mark.django_db


def _fields(instances, *names):
    return [tuple(getattr(instance, name) for name in names) for instance in instances]


def test_rows_related_rows_and_annotations_are_the_orm_s():
    rep = factories.UserFactory(first_name="Ada", last_name="Okafor")
    customer = factories.CustomerFactory()
    other = factories.CustomerFactory()
    now = timezone.now()
    for minutes in range(8):
        factories.InteractionFactory(
            customer=customer, rep=rep if minutes % 2 else None,
            occurred_at=now - timedelta(minutes=minutes),
        )  # fmt: skip
    factories.InteractionFactory(customer=other, rep=rep)

    def build(customer_id):
        return (
            Interaction.objects.select_related("rep")
            .filter(customer_id=customer_id)
            .order_by("-occurred_at", "-pk")[:5]
        )

    compiled = CompiledQuery(build)
    for target in (customer, other, customer):  # the second call for a shape reuses the SQL
        mine, orm = compiled(target.pk), list(build(target.pk))
        assert _fields(mine, "pk", "occurred_at", "rep_id", "summary") == _fields(
            orm, "pk", "occurred_at", "rep_id", "summary"
        )
        assert [i.rep and i.rep.get_full_name() for i in mine] == [
            i.rep and i.rep.get_full_name() for i in orm
        ]
    with CaptureQueriesContext(connection) as queries:
        [i.rep for i in compiled(customer.pk)]
    assert len(queries) == 1  # the related rows came with it
    assert compiled(10**9) == []


def test_lists_of_strings_by_length_and_an_empty_list():
    first = factories.CustomerFactory()
    second = factories.CustomerFactory()
    ContactPoint.objects.create(customer=first, kind="phone", value="+14155550101")
    ContactPoint.objects.create(customer=second, kind="phone", value="+14155550102")
    compiled = CompiledQuery(
        lambda kind, values: crm_selectors.customers_with_contact(kind=kind, values=values)
    )
    for values in (["+14155550101"], ["+14155550101", "+14155550102"], ["+19999999999"], []):
        orm = list(crm_selectors.customers_with_contact(kind="phone", values=values))
        assert [c.pk for c in compiled("phone", values)] == [c.pk for c in orm]


def test_arguments_it_cannot_stand_in_for_are_refused():
    compiled = CompiledQuery(lambda value: Customer.objects.filter(full_name=value))
    with pytest.raises(TypeError):
        compiled(1.5)
    with pytest.raises(TypeError):
        compiled([1, "a"])


def test_a_shape_the_orm_folds_into_the_sql_is_read_through_the_orm():
    customer = factories.CustomerFactory(full_name="Grace Hopper")
    # The argument becomes part of the SQL text, not a parameter: no stand-in to replace.
    compiled = CompiledQuery(lambda length: Customer.objects.filter(pk=customer.pk)[:length])
    assert [c.pk for c in compiled(1)] == [customer.pk]
    assert compiled(0) == []


def test_the_lookup_reads_what_it_read_through_the_orm():
    """The screen-pop's compiled reads against the same queries through the ORM."""
    rep = factories.UserFactory()
    customer = factories.CustomerFactory()
    ContactPoint.objects.create(customer=customer, kind="phone", value="+14155550123")
    customer.facts.create(
        category="family", text="Daughter Mia", is_pinned=True, recorded_at=timezone.now()
    )
    customer.facts.create(category="other", text="Not pinned", recorded_at=timezone.now())
    for minutes in range(7):
        factories.InteractionFactory(
            customer=customer, rep=rep, occurred_at=timezone.now() - timedelta(minutes=minutes)
        )
    for days in (3, 1, 2):
        factories.FollowUpFactory(customer=customer, due_at=timezone.now() + timedelta(days=days))

    (found,) = followup_selectors.customer_lookup(
        phone="(415) 555-0123", with_interactions=True, promise_filter=Q()
    )
    assert found.pk == customer.pk
    assert [f.text for f in found.pinned_facts] == ["Daughter Mia"]
    recent = list(Interaction.objects.filter(customer=customer).order_by("-occurred_at", "-pk")[:5])
    assert [i.pk for i in found.recent_interactions] == [i.pk for i in recent]
    assert [p.due_at for p in found.open_promises] == sorted(p.due_at for p in found.open_promises)
    assert len(found.open_promises) == 3
