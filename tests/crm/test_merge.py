"""customer_merge moves everything that points at the duplicate, checked in the database."""

import pytest
from django.db import connection

from crm.models import ConsentRecord, Customer, CustomerMerge, ProfileFact
from crm.selectors import customer_get
from crm.services import (
    consent_record,
    contact_point_add,
    customer_create,
    customer_merge,
    fact_add,
)
from followups.models import FollowUp
from interactions.models import Interaction
from tests.factories import FollowUpFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def rows_referencing(customer_id: int) -> dict[str, int]:
    """Every foreign-key column in the database that references crm_customer,
    read from PostgreSQL's catalog (not from Django's models), with how many
    rows in it still point at `customer_id`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.contype = 'f' AND c.confrelid = 'crm_customer'::regclass
            """
        )
        columns = cursor.fetchall()
        counts = {}
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" = %s',  # noqa: S608 - names from the catalog
                [customer_id],
            )
            counts[f"{table}.{column}"] = cursor.fetchone()[0]
    return counts


def test_merge_moves_everything_and_leaves_no_dangling_reference(supervisor, rep):
    survivor = customer_create(
        full_name="Ann Lee", phones=["+14155550100"], emails=["ann@example.org"], tags=["vip"]
    )
    duplicate = customer_create(
        full_name="Ann Lee",
        pronouns="she/her",
        phones=["(415) 555-0100"],  # the same number: dropped, not duplicated
        emails=["ann.lee@work.example"],  # primary e-mail: demoted, survivor keeps its own
        tags=["billing"],
    )
    contact_point_add(customer=duplicate, kind="address", value="1 Main St")
    fact = fact_add(customer=duplicate, text="Allergic to cats.", actor=rep, is_pinned=True)
    consent = consent_record(
        customer=duplicate, channel="sms", status="granted", method="verbal", actor=rep
    )
    interactions = InteractionFactory.create_batch(3, customer=duplicate)
    followup = FollowUpFactory(customer=duplicate, origin_interaction=interactions[0])
    earlier = customer_create(full_name="Ann L.")
    customer_merge(source=earlier, target=duplicate, actor=supervisor)

    record = customer_merge(source=duplicate, target=survivor, actor=supervisor)

    # The database has checked every (deferred) foreign key by now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    references = rows_referencing(duplicate.pk)
    assert references.pop("crm_customermerge.source_id") == 1  # the merge record itself
    assert references.pop("crm_customermerge.target_id") == 1  # Ann L. was merged into it before
    assert references, "the catalog lists the referencing columns"
    assert {column: count for column, count in references.items() if count} == {}
    assert "interactions_interaction.customer_id" in references
    assert "followups_followup.customer_id" in references

    assert set(Interaction.objects.filter(customer=survivor)) == set(interactions)
    assert FollowUp.objects.get(pk=followup.pk).customer_id == survivor.pk
    assert ProfileFact.objects.get(pk=fact.pk).customer_id == survivor.pk
    assert ConsentRecord.objects.get(pk=consent.pk).customer_id == survivor.pk
    assert sorted(survivor.contact_points.values_list("kind", "value", "is_primary")) == [
        ("address", "1 Main St", False),
        ("email", "ann.lee@work.example", False),
        ("email", "ann@example.org", True),
        ("phone", "+14155550100", True),
    ]
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["billing", "vip"]
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    earlier.refresh_from_db()
    assert survivor.pronouns == "she/her"  # blanks filled from the duplicate
    assert duplicate.merged_into == survivor
    assert earlier.merged_into == survivor  # chains are flattened: one hop to the survivor
    assert customer_get(customer_id=earlier.pk) == survivor
    assert record.moved["interactions.interaction.customer"] == sorted(i.pk for i in interactions)
    assert record.moved["dropped_duplicate_contact_points"][0]["value"] == "+14155550100"
    assert (
        CustomerMerge.objects.filter(source=duplicate, target=survivor, actor=supervisor).count()
        == 1
    )


def test_a_failed_merge_changes_nothing(rep):
    survivor = customer_create(full_name="Ann Lee")
    duplicate = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    InteractionFactory(customer=duplicate)

    with pytest.raises(Exception):  # noqa: B017, PT011 - PermissionDenied for a rep
        customer_merge(source=duplicate, target=survivor, actor=rep)

    assert Interaction.objects.filter(customer=duplicate).count() == 1
    assert duplicate.contact_points.count() == 1
    assert Customer.objects.get(pk=duplicate.pk).merged_into_id is None
