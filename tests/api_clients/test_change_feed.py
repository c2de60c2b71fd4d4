"""Change-feed pagination (core.pagination.ChangeFeedPagination)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.test import APIRequestFactory, force_authenticate

from core.pagination import ChangeFeedPagination
from interactions.models import Interaction
from tests import factories


class _Row(serializers.ModelSerializer):
    class Meta:
        model = Interaction
        fields = ["id", "updated_at", "summary"]


class FeedView(generics.ListAPIView):
    serializer_class = _Row
    pagination_class = ChangeFeedPagination

    def get_queryset(self):
        return Interaction.objects.all()


factory = APIRequestFactory()


def get(user, url: str):
    request = factory.get(url)
    force_authenticate(request, user=user)
    response = FeedView.as_view()(request)
    response.render()
    return response


def read_all(user, start_url: str, *, max_pages: int = 50) -> list[dict]:
    rows, url = [], start_url
    for _ in range(max_pages):
        page = get(user, url).data
        rows += page["results"]
        if not page["has_more"]:
            return rows
        url = page["next"]
    raise AssertionError("feed did not end")


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - timedelta(hours=1)


def make(at, n: int = 1):
    with time_machine.travel(at, tick=False):
        return [factories.InteractionFactory(summary=f"row at {at:%H:%M:%S}") for _ in range(n)]


def test_pages_in_updated_at_then_id_order_without_gaps_or_repeats(user, t0):
    # Three rows share one updated_at across the page boundary: the id breaks the tie.
    rows = make(t0, 3) + make(t0 + timedelta(seconds=1), 2) + make(t0 + timedelta(seconds=2), 2)

    seen = read_all(
        user, f"/feed?updated_since={t0.isoformat().replace('+00:00', 'Z')}&page_size=2"
    )

    assert [r["id"] for r in seen] == [r.pk for r in rows]


def test_updated_since_excludes_older_rows(user, t0):
    make(t0)
    newer = make(t0 + timedelta(minutes=1))

    seen = read_all(user, f"/feed?updated_since={(t0 + timedelta(seconds=30)).isoformat()}")

    assert [r["id"] for r in seen] == [newer[0].pk]


def test_writes_while_paging_are_neither_skipped_nor_repeated(user, t0):
    first = make(t0, 3)
    page = get(user, f"/feed?updated_since={t0.isoformat()}&page_size=2").data
    assert [r["id"] for r in page["results"]] == [first[0].pk, first[1].pk]

    # Meanwhile: a new row, and an already-read row changes.
    later = t0 + timedelta(seconds=10)
    added = make(later)
    with time_machine.travel(later + timedelta(seconds=1), tick=False):
        first[0].summary = "changed"
        first[0].save()

    rest = read_all(user, page["next"])

    assert [r["id"] for r in rest] == [first[2].pk, added[0].pk, first[0].pk]
    assert rest[-1]["summary"] == "changed"  # a new version, not a repeat


def test_rows_younger_than_the_lag_wait_for_the_next_poll(user, settings):
    settings.CHANGE_FEED_LAG_SECONDS = 5
    now = timezone.now()
    old = make(now - timedelta(seconds=60))
    # Stamped 3 s ago: its transaction may not have committed for every reader yet.
    young = make(now - timedelta(seconds=3))

    with time_machine.travel(now, tick=False):
        page = get(user, f"/feed?updated_since={(now - timedelta(minutes=5)).isoformat()}").data
    with time_machine.travel(now + timedelta(seconds=5), tick=False):
        later = get(user, page["next"]).data

    assert [r["id"] for r in page["results"]] == [old[0].pk]
    assert [r["id"] for r in later["results"]] == [young[0].pk]


def test_late_committing_row_inside_the_lag_is_not_skipped(user, settings):
    settings.CHANGE_FEED_LAG_SECONDS = 5
    now = timezone.now()
    make(now - timedelta(seconds=60))
    with time_machine.travel(now, tick=False):
        page = get(user, f"/feed?updated_since={(now - timedelta(minutes=5)).isoformat()}").data
    # A transaction that stamped its row 4 s before that read commits only now.
    late = make(now - timedelta(seconds=4))

    with time_machine.travel(now + timedelta(seconds=1), tick=False):
        after = get(user, page["next"]).data

    assert [r["id"] for r in after["results"]] == [late[0].pk]


def test_empty_page_keeps_the_cursor_for_the_next_poll(user, t0):
    make(t0)
    page = get(user, f"/feed?updated_since={t0.isoformat()}").data

    empty = get(user, page["next"]).data

    assert (empty["results"], empty["has_more"]) == ([], False)
    assert empty["next"] == page["next"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=%%%", "cursor"),
        ("cursor=bm90IGpzb24", "cursor"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-01-01T00:00:00Z&page_size=0", "page_size"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(user, query, field):
    response = get(user, f"/feed?{query}")

    assert response.status_code == 400
    assert field in response.data["errors"]


def test_without_feed_parameters_the_page_number_pagination_applies(user, t0):
    make(t0, 2)

    data = get(user, "/feed").data

    assert data["count"] == 2


def test_query_count_is_constant(user, t0, django_assert_max_num_queries):
    make(t0, 30)

    with django_assert_max_num_queries(2):
        get(user, f"/feed?updated_since={t0.isoformat()}&page_size=25")
