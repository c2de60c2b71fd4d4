"""Name search on PostgreSQL (crm.search): the word tables the database keeps in
step with every write, and what searching through them finds."""

import threading
import time

import pytest
from django.db import connection, transaction

from crm import search
from crm.models import Customer, CustomerNameToken, CustomerNameWord
from crm.selectors import customer_list
from crm.services import customer_create, customer_merge, customer_update
from privacy import services as dsr_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def names(customers) -> list[str]:
    return [customer.full_name for customer in customers]


def known(*tokens: str) -> set[str]:
    """Which of these words the name word table holds."""
    return set(CustomerNameToken.objects.filter(token__in=tokens).values_list("token", flat=True))


def words_of(customer: Customer) -> list[tuple[str, int, str]]:
    return list(
        CustomerNameWord.objects.filter(customer_id=customer.pk)
        .order_by("position")
        .values_list("token", "position", "full_name")
    )


# --- the word tables follow every write ----------------------------------------------------


def test_a_new_customer_adds_its_words_once_each():
    ann = customer_create(full_name="Ann Lee", preferred_name="Annie")
    customer_create(full_name="Ann Park")

    assert known("ann", "lee", "annie", "park") == {"ann", "lee", "annie", "park"}
    assert CustomerNameWord.objects.filter(token="ann").count() == 2
    assert words_of(ann) == [("ann", 1, "Ann Lee"), ("lee", 2, "Ann Lee"), ("annie", 3, "Ann Lee")]


def test_a_renamed_customer_drops_its_old_words_and_is_found_by_the_new_ones():
    customer = customer_create(full_name="Jürgen Müller")
    customer_create(full_name="Jürgen Weber")

    customer_update(customer=customer, changes={"full_name": "Jürgen Schmidt"})

    assert known("jurgen", "muller", "schmidt") == {"jurgen", "schmidt"}
    assert words_of(customer) == [("jurgen", 1, "Jürgen Schmidt"), ("schmidt", 2, "Jürgen Schmidt")]
    assert names(customer_list(query="schmi")) == ["Jürgen Schmidt"]
    assert names(customer_list(query="muller")) == []


def test_a_change_of_case_only_updates_the_name_results_sort_by():
    customer = customer_create(full_name="ann lee")

    customer_update(customer=customer, changes={"full_name": "Ann Lee"})

    assert words_of(customer) == [("ann", 1, "Ann Lee"), ("lee", 2, "Ann Lee")]


def test_a_merged_customer_leaves_the_search_words_and_its_survivor_stays(supervisor):
    survivor = customer_create(full_name="Ann Lee")
    duplicate = customer_create(full_name="Anne Lee")

    customer_merge(source=duplicate, target=survivor, actor=supervisor)

    assert known("anne") == set()  # nobody active is called that any more
    assert words_of(duplicate) == []
    assert words_of(survivor) == [("ann", 1, "Ann Lee"), ("lee", 2, "Ann Lee")]
    assert names(customer_list(query="anne")) == ["Ann Lee"]  # a typo of "ann" now


def test_queryset_update_bulk_create_and_delete_keep_the_words_right():
    # Writes that bypass save(): what migrations, imports and seed_demo do.
    Customer.objects.bulk_create(
        [
            Customer(full_name="Zoë Moreau", search_name="zoe moreau"),
            Customer(full_name="Zoë Martin", search_name="zoe martin"),
        ]
    )
    Customer.objects.filter(full_name="Zoë Martin").update(
        full_name="Zoë Dubois", search_name="zoe dubois"
    )

    assert known("zoe", "moreau", "martin", "dubois") == {"zoe", "moreau", "dubois"}
    assert names(customer_list(query="dubo")) == ["Zoë Dubois"]

    Customer.objects.filter(full_name="Zoë Moreau").delete()

    assert known("zoe", "moreau") == {"zoe"}
    assert CustomerNameWord.objects.filter(token="moreau").count() == 0


def test_bulk_sql_inserts_are_searchable():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO crm_customer (
                full_name, preferred_name, pronunciation, pronouns, time_zone,
                preferred_language, preferred_channel, accessibility_needs, organisation,
                organisation_role, search_name, created_at, updated_at)
            SELECT name, '', '', '', 'UTC', '', '', '', '', '', lower(unaccent(name)), now(), now()
            FROM unnest(ARRAY['Björn Ström', 'Björn Berg']) AS name
            """
        )

    assert known("bjorn", "strom", "berg") == {"bjorn", "strom", "berg"}
    assert names(customer_list(query="bjorn strom")) == ["Björn Ström"]


def test_erasure_leaves_no_word_of_the_name_behind():
    customer = customer_create(full_name="Ottoline Quillfeather")

    dsr_services.customer_erase(customer=customer, actor=UserFactory(is_superuser=True))

    assert known("ottoline", "quillfeather") == set()
    assert CustomerNameWord.objects.filter(token__in=["ottoline", "quillfeather"]).count() == 0


def _in_open_transaction(full_name: str, started: threading.Event, release: threading.Event):
    try:
        with transaction.atomic():
            customer_create(full_name=full_name)
            started.set()
            release.wait(10)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_creating_customers_that_share_a_known_word_never_waits():
    customer_create(full_name="Ann Existing")
    started, release = threading.Event(), threading.Event()
    other = threading.Thread(target=_in_open_transaction, args=("Ann Lee", started, release))
    other.start()
    try:
        assert started.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # A wait on the other transaction's word would fail here.
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            customer_create(full_name="Ann Park")
    finally:
        release.set()
        other.join()

    assert names(customer_list(query="ann")) == ["Ann Existing", "Ann Lee", "Ann Park"]


@pytest.mark.django_db(transaction=True)
def test_a_word_leaving_with_its_last_customer_stays_for_one_being_created():
    old = customer_create(full_name="Old Quill")
    started, release = threading.Event(), threading.Event()
    creator = threading.Thread(target=_in_open_transaction, args=("Zed Quill", started, release))
    creator.start()
    assert started.wait(10)

    def delete_old():
        try:
            Customer.objects.filter(pk=old.pk).delete()
        finally:
            connection.close()

    # The delete waits for the creator (its lock on "quill"), then sees its customer.
    deleter = threading.Thread(target=delete_old)
    deleter.start()
    time.sleep(0.3)
    release.set()
    creator.join()
    deleter.join()

    assert known("quill") == {"quill"}
    assert names(customer_list(query="quill")) == ["Zed Quill"]


# --- what a search finds -------------------------------------------------------------------


@pytest.fixture
def smiths():
    return [
        customer_create(full_name="John Smith"),
        customer_create(full_name="Joan Smith"),
        customer_create(full_name="Jon Smithers"),
        customer_create(full_name="Gonzalo González"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Jonh Smtih", ["John Smith"]),  # a swap of two letters in each short word
        ("john smiht", ["John Smith"]),
        ("Gonz", ["Gonzalo González"]),  # partial, accent-insensitive
        ("nzal", ["Gonzalo González"]),  # inside a word
        ("GONZALEZ", ["Gonzalo González"]),
        ("gonzales", ["Gonzalo González"]),  # one letter wrong
        ("smith", ["Joan Smith", "John Smith", "Jon Smithers"]),  # exact before prefix
    ],
)
def test_partial_and_typo_searches(smiths, query, expected):
    assert names(customer_list(query=query)) == expected


def test_a_near_typo_hides_mere_lookalikes_which_count_when_nothing_is_near():
    customer_create(full_name="Ama Moreau")
    customer_create(full_name="Ama Morel")

    assert names(customer_list(query="ama moreua")) == ["Ama Moreau"]  # one swap
    # Two typos in six letters: both names are only alike, the closer first.
    assert names(customer_list(query="ama morexx")) == ["Ama Morel", "Ama Moreau"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("o'brien", ["Siobhán O'Brien"]),
        ("%", []),  # LIKE wildcards are letters here
        ("_brien", ["Siobhán O'Brien"]),  # not a wildcard: a typo of "o'brien"
        ("\\", []),
        ("-", []),
        ("x" * 300, ["Ann " + "x" * 150]),  # read as its first 40 letters
        ("siobhan " + "o" * 300, []),
        ("a b c d e f g h siobhan", []),  # the first six words count
    ],
)
def test_odd_queries_find_what_they_say_and_never_fail(query, expected):
    customer_create(full_name="Siobhán O'Brien")
    customer_create(full_name="Ann " + "x" * 150)

    assert names(customer_list(query=query)) == expected


def test_words_in_the_order_of_the_name_rank_first():
    customer_create(full_name="Lee Ann")
    customer_create(full_name="Ann Lee")

    assert names(customer_list(query="ann lee")) == ["Ann Lee", "Lee Ann"]
    assert names(customer_list(query="lee ann")) == ["Lee Ann", "Ann Lee"]


def test_names_that_each_exist_but_not_together_are_read_as_typos():
    customer_create(full_name="Emilie Moreau")
    customer_create(full_name="Emily Dubois")

    assert names(customer_list(query="Emily Moreau")) == ["Emilie Moreau"]


def test_a_search_combines_with_filters(rep):
    customer_create(full_name="Ann Lee", owner=rep)
    customer_create(full_name="Ann Leeds")

    assert names(customer_list(query="ann le", owner_id=rep.pk)) == ["Ann Lee"]
    assert names(customer_list(query="ann le", tag="vip")) == []


def test_the_count_and_the_pages_are_those_of_the_ranked_result(django_assert_num_queries):
    for index in range(7):
        customer_create(full_name=f"Mia Lindqvist{index}")
    customer_create(full_name="Mia Lind")

    results = customer_list(query="mia lind")

    with django_assert_num_queries(0):
        assert results.count() == 8
    assert names(results[:3]) == ["Mia Lind", "Mia Lindqvist0", "Mia Lindqvist1"]
    assert names(results[6:10]) == ["Mia Lindqvist5", "Mia Lindqvist6"]
    assert names(results.filter(full_name__endswith="6")) == ["Mia Lindqvist6"]


def test_at_most_the_best_limit_are_returned(monkeypatch):
    for index in range(5):
        customer_create(full_name=f"Noah Berg{index}")
    customer_create(full_name="Noah Berg")
    monkeypatch.setattr(search, "NAME_SEARCH_LIMIT", 3)

    results = customer_list(query="noah berg")

    assert results.count() == 3
    assert names(results) == ["Noah Berg", "Noah Berg0", "Noah Berg1"]


def test_a_broad_word_keeps_only_its_best_name_words(monkeypatch):
    customer_create(full_name="Al Stone")
    customer_create(full_name="Alma Stone")
    customer_create(full_name="Alexandra Stone")
    monkeypatch.setattr(search, "WORD_CUSTOMER_LIMIT", 2)

    # "al" itself, then the shortest words starting with it, up to ~2 customers.
    assert names(customer_list(query="al")) == ["Al Stone", "Alma Stone"]


# --- the pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "distance"),
    [
        ("john", "john", 0),
        ("jonh", "john", 1),  # a swap is one typo
        ("smtih", "smith", 1),
        ("gonzales", "gonzalez", 1),
        ("jon", "john", 1),
        ("moreau", "moreua", 1),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
    ],
)
def test_edit_distance(first, second, distance):
    assert search.edit_distance(first, second) == distance
    assert search.edit_distance(second, first) == distance
