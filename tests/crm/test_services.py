from datetime import UTC, datetime, time

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from crm.models import FACT_TEXT_MAX_LENGTH, ConsentRecord, Customer, ProfileFact
from crm.services import (
    consent_record,
    contact_point_add,
    contact_point_make_primary,
    customer_create,
    customer_merge,
    customer_touch,
    customer_update,
    fact_add,
    fact_delete,
    fact_restore,
    fact_update,
)

pytestmark = pytest.mark.django_db


def test_a_full_profile_is_stored_in_standard_form(rep):
    customer = customer_create(
        full_name="  Siobhán   O'Brien ",
        preferred_name="Shiv",
        pronunciation="shi-VAWN",
        pronouns="she/her",
        time_zone="Europe/Dublin",
        preferred_language="EN_ie",
        preferred_channel="email",
        quiet_hours_start=time(21, 0),
        quiet_hours_end=time(8, 0),
        accessibility_needs="Hard of hearing: prefers e-mail or SMS.",
        organisation="Walsh & Co",
        organisation_role="Office manager",
        owner=rep,
        tags=["VIP", "vip ", "Billing"],
    )

    customer.refresh_from_db()
    assert customer.full_name == "Siobhán O'Brien"
    assert customer.preferred_language == "en-IE"
    assert customer.search_name == "siobhan o'brien shiv"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["billing", "vip"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus"),
        ("preferred_language", "xx-YY"),
        ("preferred_language", "klingon"),
        ("preferred_channel", "pigeon"),
    ],
)
def test_bad_profile_values_are_rejected_naming_the_field_and_nothing_is_saved(field, value):
    with pytest.raises(ValidationError) as caught:
        customer_create(full_name="Ann Lee", phones=["+14155550100"], **{field: value})

    assert field in caught.value.message_dict
    assert Customer.objects.count() == 0


def test_quiet_hours_need_both_ends():
    with pytest.raises(ValidationError) as caught:
        customer_create(full_name="Ann Lee", quiet_hours_start=time(22, 0))

    assert "quiet_hours_end" in caught.value.message_dict


def test_a_bad_contact_point_on_create_names_it_and_saves_no_customer():
    with pytest.raises(ValidationError) as caught:
        customer_create(
            full_name="Ann Lee",
            contact_points=[
                {"kind": "email", "value": "ann@example.org"},
                {"kind": "phone", "value": "12"},
            ],
        )

    assert list(caught.value.message_dict) == ["contact_points[1].value"]
    assert Customer.objects.count() == 0


def test_two_primaries_of_a_kind_on_create_are_refused():
    with pytest.raises(ValidationError) as caught:
        customer_create(
            full_name="Ann Lee",
            contact_points=[
                {"kind": "phone", "value": "+14155550100", "is_primary": True},
                {"kind": "phone", "value": "+14155550101", "is_primary": True},
            ],
        )

    assert "contact_points[1].is_primary" in caught.value.message_dict
    assert Customer.objects.count() == 0


def test_a_second_primary_is_refused_but_make_primary_switches():
    customer = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    second = contact_point_add(customer=customer, kind="phone", value="+1 415 555 0101")

    with pytest.raises(ValidationError) as caught:
        contact_point_add(customer=customer, kind="phone", value="+14155550102", is_primary=True)
    assert "is_primary" in caught.value.message_dict

    contact_point_make_primary(contact_point=second)
    assert list(
        customer.contact_points.filter(is_primary=True).values_list("value", flat=True)
    ) == ["+14155550101"]


def test_the_same_number_twice_on_one_customer_is_a_field_error():
    customer = customer_create(full_name="Ann Lee", phones=["+14155550100"])

    with pytest.raises(ValidationError) as caught:
        contact_point_add(customer=customer, kind="phone", value="(415) 555-0100")

    assert "value" in caught.value.message_dict
    assert customer.contact_points.count() == 1


def test_an_extension_is_kept_beside_the_e164_number():
    customer = customer_create(full_name="Ann Lee")

    point = contact_point_add(customer=customer, kind="phone", value="+1 (650) 253-0000 ext. 123")

    assert (point.value, point.extension) == ("+16502530000", "123")


def test_postal_address_is_kept_as_written_lines():
    customer = customer_create(full_name="Ann Lee")

    point = contact_point_add(
        customer=customer, kind="address", value=" 1 Main St \n\n Springfield ", label="home"
    )

    assert point.value == "1 Main St\nSpringfield"


def test_update_changes_only_named_fields_and_validates():
    customer = customer_create(full_name="Ann Lee", time_zone="Europe/London")

    customer_update(customer=customer, changes={"pronouns": "they/them", "time_zone": "Asia/Tokyo"})
    customer.refresh_from_db()
    assert (customer.pronouns, customer.time_zone) == ("they/them", "Asia/Tokyo")

    with pytest.raises(ValidationError) as caught:
        customer_update(customer=customer, changes={"time_zone": "Nowhere/Land"})
    assert "time_zone" in caught.value.message_dict
    customer.refresh_from_db()
    assert customer.time_zone == "Asia/Tokyo"


def test_consent_is_a_history_and_the_newest_record_counts(rep):
    customer = customer_create(full_name="Ann Lee")
    with time_machine.travel(datetime(2026, 1, 5, 10, tzinfo=UTC), tick=False):
        consent_record(
            customer=customer, channel="sms", status="granted", method="web_form", actor=rep
        )
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
        consent_record(
            customer=customer, channel="sms", status="withdrawn", method="verbal", actor=rep
        )

    from crm.selectors import customer_consents

    states = {state.channel: state for state in customer_consents(customer)}
    assert states["sms"].status == "withdrawn"
    assert states["sms"].record.recorded_by == rep
    assert states["sms"].record.recorded_at == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert states["phone"].status == "unknown"
    assert ConsentRecord.objects.filter(customer=customer).count() == 2


def test_facts_keep_their_history_and_delete_is_soft_and_audited(rep, supervisor):
    customer = customer_create(full_name="Ann Lee")
    fact = fact_add(
        customer=customer,
        text="Daughter Mia starts school in September.",
        category="family",
        actor=rep,
        origin_interaction_id=987,
    )

    fact_update(fact=fact, actor=supervisor, text="Daughter Mia started school.", is_pinned=True)
    fact_delete(fact=fact, actor=supervisor)

    fact.refresh_from_db()
    assert fact.deleted_by == supervisor
    assert fact.deleted_at is not None
    assert fact.origin_interaction_id == 987
    assert ProfileFact.objects.filter(customer=customer, deleted_at__isnull=True).count() == 0
    assert [
        (revision.action, revision.text, revision.changed_by)
        for revision in fact.revisions.order_by("changed_at", "pk")
    ] == [
        ("created", "Daughter Mia starts school in September.", rep),
        ("edited", "Daughter Mia started school.", supervisor),
        ("deleted", "Daughter Mia started school.", supervisor),
    ]
    fact_restore(fact=fact, actor=rep)
    fact.refresh_from_db()
    assert fact.deleted_at is None


def test_an_overlong_or_empty_fact_is_refused_and_not_saved(rep):
    customer = customer_create(full_name="Ann Lee")

    for text in ["x" * (FACT_TEXT_MAX_LENGTH + 1), "   "]:
        with pytest.raises(ValidationError) as caught:
            fact_add(customer=customer, text=text, actor=rep)
        assert "text" in caught.value.message_dict
    assert ProfileFact.objects.count() == 0


def test_customer_touch_keeps_the_newest_activity():
    customer = customer_create(full_name="Ann Lee")
    newer = datetime(2026, 5, 2, 12, tzinfo=UTC)

    customer_touch(customer_id=customer.pk, at=newer)
    customer_touch(customer_id=customer.pk, at=datetime(2026, 5, 1, tzinfo=UTC))

    customer.refresh_from_db()
    assert customer.last_activity_at == newer


def test_customer_pages_keep_room_so_a_touch_is_a_heap_only_update():
    Customer.objects.bulk_create(Customer(full_name=f"Customer number {n}") for n in range(300))
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'crm_customer'")
        assert cursor.fetchone()[0] == ["fillfactor=90"]
        # One customer on each page the inserts filled (all but the last page).
        cursor.execute(
            "SELECT min(id) FROM crm_customer GROUP BY (ctid::text::point)[0] "
            "ORDER BY (ctid::text::point)[0]"
        )
        on_full_pages = [pk for (pk,) in cursor.fetchall()][:-1]
        assert len(on_full_pages) >= 2
        counts = (
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
            "WHERE relname = 'crm_customer'"
        )
        # Counts of the open transaction, which the test harness may share with
        # earlier tests: compare before and after.
        cursor.execute(counts)
        updated_before, heap_only_before = cursor.fetchone()

        for customer_id in on_full_pages:
            customer_touch(customer_id=customer_id, at=datetime(2026, 5, 2, tzinfo=UTC))

        cursor.execute(counts)
        updated, heap_only = cursor.fetchone()
    assert updated - updated_before == len(on_full_pages)
    assert heap_only - heap_only_before == len(on_full_pages)


def test_a_rep_may_not_merge(rep):
    source = customer_create(full_name="Ann Lee")
    target = customer_create(full_name="Ann Lee")

    with pytest.raises(PermissionDenied):
        customer_merge(source=source, target=target, actor=rep)

    source.refresh_from_db()
    assert source.merged_into_id is None


def test_merging_twice_or_into_itself_is_refused(supervisor):
    source = customer_create(full_name="Ann Lee")
    target = customer_create(full_name="Ann Lee")
    customer_merge(source=source, target=target, actor=supervisor)

    with pytest.raises(ValidationError) as again:
        customer_merge(source=source, target=target, actor=supervisor)
    with pytest.raises(ValidationError) as into_merged:
        customer_merge(source=customer_create(full_name="Bo"), target=source, actor=supervisor)
    with pytest.raises(ValidationError) as itself:
        customer_merge(source=target, target=target, actor=supervisor)

    assert "source" in again.value.message_dict
    assert "target" in into_merged.value.message_dict
    assert "source" in itself.value.message_dict
