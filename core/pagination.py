"""Change-feed pagination: `?updated_since=<ISO time>` and `?cursor=<opaque>`.

Rows come ordered by (updated_at, id) and the cursor encodes the last pair
seen, so a client that follows `next` neither skips nor repeats a row version
while writes go on. A row changed again after it was read shows up again later,
with its new `updated_at`: that is a new change, not a repeat.

The guarantee and its limit: `updated_at` is stamped when a row is saved but
becomes visible only when its transaction commits. A page therefore stops at
`now - CHANGE_FEED_LAG_SECONDS` (default 5 s): rows whose transaction commits
within that lag after they were stamped are never skipped. The feed is
therefore that many seconds behind real time, on purpose.

Without `updated_since` or `cursor`, page numbers are used
(`CappedPageNumberPagination`). Apply with `pagination_class =
ChangeFeedPagination` on a list view whose model has `updated_at`.

No list counts a whole table: a page-number page's `count` stops at
`COUNT_CAP` (`count_is_capped` says so), one `COUNT(*)` over at most that many
rows, so the first page costs the same at 10 thousand rows and at 10 million.
Even that count reads more than the rows it counts when a filter has no index
of its own (?team=&channel= must look at a team's every contact to find 10,001
SMS): when the planner expects it to cost more than `COUNT_COST_LIMIT`, the
page answers with the planner's estimate instead (`count_is_estimated`), and
its `next` comes from reading one row past the page, not from the count.
Deeper than the cap, follow the change feed (`?updated_since=`), whose pages
carry no total at all (benchmarks/lists.py times every list at 10 million).
"""

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.query import MAX_ID, in_utc

MAX_PAGE_SIZE = 1000
# The most rows a page-number list counts. 10,000 rows count in a few ms from an
# index; past that a client pages by the change feed instead of page numbers.
COUNT_CAP = 10_000
# The most a count may cost, in PostgreSQL planner cost units (EXPLAIN's "Total
# Cost"), before the page says the planner's estimate instead. An index answers
# a count of COUNT_CAP rows for a few hundred. Past the limit, measured at 10
# million contacts (benchmarks/lists.py): 10,001 SMS read from 200,000 contacts
# costs about 8,700 (60 ms), a rep's teams' promises 5,500 (24 ms, through a
# bitmap of every promise the team ever had), a team's SMS 150,000 (0.4 s).
COUNT_COST_LIMIT = 5_000


class PeekedPage(Page):
    """A page that knows whether rows follow from reading one more, not from a count."""

    def __init__(self, object_list, number, paginator, *, has_more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._has_more = has_more

    def has_next(self) -> bool:
        return self._has_more


class CappedCountPaginator(DjangoPaginator):
    """Django's paginator counting at most COUNT_CAP + 1 rows (a LIMIT under the
    COUNT), or taking the planner's estimate when that count would cost more
    than COUNT_COST_LIMIT (`is_estimated`; pages then run to the cap and each
    reads one row more to know whether another follows)."""

    is_estimated = False
    estimate: int | None = None

    @cached_property
    def count(self) -> int:
        return self._capped_count()

    def _capped_count(self) -> int:
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return min(len(rows), COUNT_CAP + 1)
        if getattr(rows, "_ranked_ids", None) is not None:
            # A ranked name search knows its size with no query (at most
            # NAME_SEARCH_LIMIT ids in hand, crm.models.CustomerQuerySet).
            return min(rows.count(), COUNT_CAP + 1)
        # Any COUNT_CAP + 1 rows will do: no ORDER BY, so the planner counts
        # them from the cheapest index instead of walking the list's order.
        try:
            sql, params = rows.order_by().values("pk")[: COUNT_CAP + 1].query.sql_with_params()
        except EmptyResultSet:
            return 0
        # The ORM's own SQL for the rows (values travel as parameters), counted.
        count_sql = f"SELECT COUNT(*) FROM ({sql}) AS capped"  # noqa: S608
        with connections[rows.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {count_sql}", params)
            (plan,) = cursor.fetchone()
            if isinstance(plan, str):
                plan = json.loads(plan)
            top = plan[0]["Plan"]
            if top["Total Cost"] <= COUNT_COST_LIMIT:
                cursor.execute(count_sql, params)
                return cursor.fetchone()[0]
        self.is_estimated = True
        self.estimate = _estimated_rows(top)
        return min(self.estimate, COUNT_CAP + 1)

    @property
    def is_capped(self) -> bool:
        """More than COUNT_CAP rows match (or are estimated to): `count` is a floor."""
        return self.count > COUNT_CAP

    @property
    def cap(self) -> str:
        return f"{COUNT_CAP:,}"

    @cached_property
    def num_pages(self) -> int:
        if self.count is not None and self.is_estimated:  # counting decides which
            # As many pages as an exact count stopping at the cap would allow,
            # whatever the estimate: `next` follows the rows (page()).
            return -(-(COUNT_CAP + 1) // self.per_page)
        return super().num_pages

    def page(self, number):
        number = self.validate_number(number)
        if not self.is_estimated:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        has_more = len(rows) > self.per_page and number < self.num_pages
        return PeekedPage(rows[: self.per_page], number, self, has_more=has_more)


def _estimated_rows(plan: dict) -> int:
    """The rows the planner expects the capped count's subquery to find, before its LIMIT."""
    node = plan
    while node.get("Node Type") in ("Aggregate", "Limit", "Subquery Scan") and node.get("Plans"):
        node = node["Plans"][0]
    return max(0, round(node["Plan Rows"]))


class CappedPageNumberPagination(PageNumberPagination):
    """Page numbers with a capped `count` (`count_is_capped` true when there are more)."""

    django_paginator_class = CappedCountPaginator
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        # DRF falls back to the default on a bad size and clips a large one: a client
        # asking for 0, 5000 or "ten" would never learn its pages are not what it asked.
        if self.page_size_query_param not in request.query_params:
            return self.page_size
        return _page_size(request.query_params[self.page_size_query_param])

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        counted = paginator.count
        return Response(
            {
                "count": min(counted, COUNT_CAP),
                "count_is_capped": counted > COUNT_CAP,
                "count_is_estimated": paginator.is_estimated,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_is_capped", "count_is_estimated", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "maximum": COUNT_CAP,
                    "description": f"Matching rows, counted up to {COUNT_CAP:,}; the "
                    "database's estimate when `count_is_estimated`.",
                },
                "count_is_capped": {
                    "type": "boolean",
                    "description": f"True when more than {COUNT_CAP:,} rows match (or are "
                    "estimated to): `count` is then a floor and pages stop there; read "
                    "further by the change feed.",
                },
                "count_is_estimated": {
                    "type": "boolean",
                    "description": "True when counting exactly would have read far more "
                    "rows than the page (a filter no index narrows): `count` is then the "
                    "database planner's estimate, and may be off either way. `next` is "
                    "exact all the same (a page past the last is empty).",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


def _page_size(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        message = f"Must be a whole number from 1 to {MAX_PAGE_SIZE}."
        raise ValidationError({"page_size": [message]})
    return int(raw)


def _encode(updated_at: datetime, pk: int) -> str:
    raw = json.dumps([updated_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = parse_datetime(stamp)
        if moment is None or moment.tzinfo is None or not isinstance(pk, int) or pk > MAX_ID:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise ValidationError({"cursor": ["Invalid cursor."]}) from exc
    return in_utc(moment, "cursor"), pk


def _parse_since(raw: str) -> datetime:
    # An unencoded "+01:00" arrives as " 01:00": read it the way the client meant it.
    raw = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw.strip())
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError(
            {"updated_since": ["Use an ISO 8601 date-time, e.g. 2026-03-05T10:00:00Z."]}
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return in_utc(moment, "updated_since")


class ChangeFeedPagination(BasePagination):
    page_size = 100
    fallback_class = CappedPageNumberPagination

    def __init__(self) -> None:
        self._fallback = None
        self._next: str | None = None
        self._has_more = False

    def _is_feed(self, request) -> bool:
        return "updated_since" in request.query_params or "cursor" in request.query_params

    def _page_size(self, request) -> int:
        raw = request.query_params.get("page_size")
        return self.page_size if raw is None else _page_size(raw)

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        self.request = request
        if not self._is_feed(request):
            self._fallback = self.fallback_class()
            return self._fallback.paginate_queryset(queryset, request, view)
        lag = timedelta(seconds=getattr(settings, "CHANGE_FEED_LAG_SECONDS", 5))
        horizon = timezone.now() - lag
        rows = queryset.order_by("updated_at", "pk").filter(updated_at__lte=horizon)
        cursor = request.query_params.get("cursor")
        if cursor:
            after_time, after_pk = _decode(cursor)
            rows = rows.filter(
                Q(updated_at__gt=after_time) | Q(updated_at=after_time, pk__gt=after_pk)
            )
        elif "updated_since" in request.query_params:  # empty too: a 400, not the whole feed
            since = _parse_since(request.query_params["updated_since"])
            rows = rows.filter(updated_at__gte=since)
        size = self._page_size(request)
        page = list(rows[: size + 1])
        self._has_more = len(page) > size
        page = page[:size]
        if page:
            last = page[-1]
            next_cursor = _encode(last.updated_at, last.pk)
        else:
            next_cursor = cursor  # nothing new yet: poll again from the same place
        url = request.build_absolute_uri()
        self._next = replace_query_param(url, "cursor", next_cursor) if next_cursor else None
        return page

    def get_paginated_response(self, data):
        if self._fallback is not None:
            return self._fallback.get_paginated_response(data)
        return Response({"next": self._next, "has_more": self._has_more, "results": data})

    def get_paginated_response_schema(self, schema):
        # One object for both modes (a generated client reads one type): `next` and
        # `results` always; `count`, `count_is_capped`, `count_is_estimated` and
        # `previous` on numbered pages; `has_more` on change-feed pages
        # (updated_since / cursor).
        pages = CappedPageNumberPagination().get_paginated_response_schema(schema)
        properties = dict(pages["properties"])
        for name in ("count", "count_is_capped", "count_is_estimated", "previous"):
            properties[name] = {
                **properties[name],
                "description": (
                    properties[name].get("description", "") + " Numbered pages only."
                ).strip(),
            }
        properties["next"] = {
            "type": "string",
            "nullable": True,
            "format": "uri",
            "description": "The next page; on the change feed, follow it to continue "
            "(also after an empty page).",
        }
        properties["has_more"] = {"type": "boolean", "description": "Change-feed pages only."}
        return {"type": "object", "required": ["next", "results"], "properties": properties}

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "updated_since",
                "in": "query",
                "required": False,
                "description": "Change feed: rows updated at or after this time, oldest first.",
                "schema": {"type": "string", "format": "date-time"},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Opaque cursor from `next`.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number when not reading the change feed.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
