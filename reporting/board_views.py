"""Supervisor pages: the overdue board, the escalations inbox and the metrics.

Thin: parse the query, call a selector or service, render. The board polls its
counts with htmx; every form also works as a plain POST that redirects back.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.db_routing import replica_lag_seconds, reporting_view
from reporting import board_selectors as selectors
from reporting import board_services as services
from reporting import metrics_selectors
from reporting.board_charts import bar_chart, line_chart

BOARD_LIST_PAGE_SIZE = 100
INBOX_PAGE_SIZE = 50
# The inbox counts at most this many (pages of the newest): an exact count of
# tens of thousands of escalations would cost more than the page it labels.
INBOX_COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """Pages through the first `cap` rows only; `is_capped` says there are more."""

    def __init__(self, object_list, per_page, *, cap: int) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def _counted(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def is_capped(self) -> bool:
        return self._counted > self.cap


# How often the board's counts refresh themselves (htmx polling).
BOARD_POLL_SECONDS = 30
# A count's link carries the instant it was counted at, so the list it opens
# is computed at the same instant; older than this and the list is "now" again.
AS_OF_MAX_AGE = timedelta(hours=1)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


class BoardFilterForm(forms.Form):
    team = forms.CharField(required=False)  # a team id, or "none" for promises without a team
    owner = forms.IntegerField(required=False, min_value=1)
    bucket = forms.ChoiceField(required=False, choices=[("", "any"), *selectors.AGING_BUCKETS])
    level = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=[("", "any"), (1, "1"), (2, "2")]
    )
    as_of = forms.DateTimeField(required=False)

    def clean_team(self) -> str:
        team = self.cleaned_data["team"]
        if team and team != "none" and not team.isdigit():
            raise ValidationError("A team id or 'none'.")
        return team

    def board_filter(self) -> selectors.BoardFilter:
        data = self.cleaned_data
        team = data.get("team") or ""
        return selectors.BoardFilter(
            team_id=int(team) if team.isdigit() else None,
            without_team=team == "none",
            owner_id=data.get("owner"),
            bucket=data.get("bucket") or None,
            escalation_level=data.get("level"),
        )

    def as_of_instant(self) -> datetime:
        now = timezone.now()
        as_of = self.cleaned_data.get("as_of")
        if as_of is None or as_of > now or now - as_of > AS_OF_MAX_AGE:
            return now
        return as_of


def _parse_board_filter(request: HttpRequest) -> BoardFilterForm | HttpResponse:
    form = BoardFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Bad board filter: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    return form


def _list_context(request: HttpRequest, scope: selectors.BoardScope, form: BoardFilterForm) -> dict:
    as_of = form.as_of_instant()
    board_filter = form.board_filter()
    queryset = selectors.board_list(scope=scope, as_of=as_of, board_filter=board_filter)
    # Page over the ids (count and slice touch only follow-up rows), then load
    # what a row shows for those ids alone: joins and the acknowledgement
    # look-up run for 100 rows, not for every overdue promise of every team.
    page = Paginator(queryset.values_list("pk", flat=True), BOARD_LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page_ids = list(page.object_list)
    labels = dict(selectors.AGING_BUCKETS)
    page.object_list = list(queryset.filter(pk__in=page_ids))
    for followup in page.object_list:
        followup.aging_label = labels.get(followup.aging_bucket, "")
    query = request.GET.copy()
    query.pop("page", None)
    query["as_of"] = as_of.isoformat()
    members = list(selectors.board_assignable_members(scope=scope))
    return {
        "filter_label": _filter_label(board_filter, members, labels),
        "page": page,
        "as_of": as_of,
        "board_filter": board_filter,
        "filter_query": query.urlencode(),
        "bucket_label": labels.get(board_filter.bucket or "", ""),
        "members": members,
    }


def _filter_label(board_filter: selectors.BoardFilter, members: list, labels: dict) -> str:
    """What the list shows, in words ("team Support · owner Maria Silva · 1–3 days"),
    named from the members already loaded for the reassign control (no query)."""
    parts = []
    if board_filter.without_team:
        parts.append("no team")
    elif board_filter.team_id:
        team = next((m.team for m in members if m.team_id == board_filter.team_id), None)
        parts.append(f"team {team.name}" if team else f"team #{board_filter.team_id}")
    if board_filter.owner_id:
        owner = next((m.user for m in members if m.user_id == board_filter.owner_id), None)
        name = (owner.get_full_name() or owner.username) if owner else f"#{board_filter.owner_id}"
        parts.append(f"owner {name}")
    if board_filter.bucket:
        parts.append(labels.get(board_filter.bucket, board_filter.bucket))
    if board_filter.escalation_level:
        parts.append(f"escalated to level {board_filter.escalation_level}")
    return " · ".join(parts)


def _cells(counts: dict, total: int, levels: dict, base: dict, as_of: str) -> list[dict]:
    """A count per column, each with the query string of the list it counts."""

    def query(**extra: str | int) -> str:
        return urlencode({**base, **extra, "as_of": as_of})

    cells = [{"column": "total", "count": total, "query": query()}]
    cells += [
        {"column": bucket, "count": counts[bucket], "query": query(bucket=bucket)}
        for bucket in selectors.AGING_BUCKET_KEYS
    ]
    cells += [
        {"column": f"level_{level}", "count": levels[level], "query": query(level=level)}
        for level in selectors.ESCALATION_LEVELS
    ]
    return cells


def _summary_context(scope: selectors.BoardScope) -> dict:
    board = selectors.board_summary(scope=scope)
    as_of = board.as_of.isoformat()
    table_rows = []
    for team in board.teams:
        team_param = {"team": team.team_id if team.team_id is not None else "none"}
        table_rows.append(
            {
                "kind": "team",
                "label": team.team_name,
                "cells": _cells(team.counts, team.total, team.levels, team_param, as_of),
                "unacknowledged": team.unacknowledged,
            }
        )
        for row in team.rows:
            table_rows.append(
                {
                    "kind": "rep",
                    "label": row.owner_name,
                    "owner_id": row.owner_id,
                    "cells": _cells(
                        row.counts,
                        row.total,
                        row.levels,
                        {**team_param, "owner": row.owner_id},
                        as_of,
                    ),
                    "unacknowledged": row.unacknowledged,
                }
            )
    total_row = None
    if board.teams:
        total_row = {
            "cells": _cells(board.counts, board.total, board.levels, {}, as_of),
            "unacknowledged": board.unacknowledged,
        }
    return {
        "board": board,
        "table_rows": table_rows,
        "total_row": total_row,
        "buckets": selectors.AGING_BUCKETS,
        "levels": selectors.ESCALATION_LEVELS,
        "poll_seconds": BOARD_POLL_SECONDS,
        # Reversed once, not three times for each of a few thousand cells.
        "board_url": reverse("board:board"),
        "list_url": reverse("board:list"),
    }


@login_required
@require_GET
@reporting_view
def board_page(request: HttpRequest) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    form = _parse_board_filter(request)
    if isinstance(form, HttpResponse):
        return form
    context = _summary_context(scope) | _list_context(request, scope, form)
    return render(request, "reporting/board/board.html", context)


@login_required
@require_GET
@reporting_view
def board_summary_fragment(request: HttpRequest) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    return render(request, "reporting/board/_summary.html", _summary_context(scope))


@login_required
@require_GET
@reporting_view
def board_list_fragment(request: HttpRequest) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    form = _parse_board_filter(request)
    if isinstance(form, HttpResponse):
        return form
    return render(request, "reporting/board/_list.html", _list_context(request, scope, form))


class BulkReassignForm(forms.Form):
    followup = forms.TypedMultipleChoiceField(coerce=int, required=False)
    new_owner = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))
    note = forms.CharField(required=False, max_length=500)
    next = forms.CharField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any integer is syntactically fine; the service decides what exists and is yours.
        self.fields["followup"].valid_value = lambda value: str(value).isdigit()


def _back_to_board(request: HttpRequest, next_url: str) -> HttpResponse:
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("board:board")


@login_required
@require_POST
def board_bulk_reassign(request: HttpRequest) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    form = BulkReassignForm(request.POST)
    errors: list[str] = []
    reassigned = 0
    if form.is_valid():
        try:
            reassigned = len(
                services.followups_bulk_reassign(
                    actor=request.user,
                    followup_ids=form.cleaned_data["followup"],
                    new_owner=form.cleaned_data["new_owner"],
                    note=form.cleaned_data["note"],
                )
            )
        except ValidationError as exc:
            errors = exc.messages
    else:
        errors = [f"{k}: {' '.join(v)}" for k, v in form.errors.items()]
    if not _is_htmx(request):
        return _back_to_board(request, request.POST.get("next", ""))
    # Re-render the list the supervisor was looking at, and tell the counts to refresh.
    filter_form = BoardFilterForm(request.GET)
    filter_form.is_valid()
    filter_form.cleaned_data.pop("as_of", None)
    context = _list_context(request, scope, filter_form)
    context.update({"errors": errors, "reassigned": reassigned})
    # 200 even with errors: htmx swaps only 2xx bodies, and the messages belong in the list.
    response = render(request, "reporting/board/_list.html", context)
    response["HX-Trigger"] = "board-changed"
    return response


@login_required
@require_POST
def escalation_acknowledge(request: HttpRequest, followup_id: int) -> HttpResponse:
    note = request.POST.get("note", "")[:500]
    try:
        acknowledgement = services.escalation_acknowledge(
            actor=request.user, followup_id=followup_id, note=note
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    if not _is_htmx(request):
        return _back_to_board(request, request.POST.get("next", ""))
    response = render(
        request, "reporting/board/_ack_cell.html", {"acknowledgement": acknowledgement}
    )
    response["HX-Trigger"] = "board-changed"
    return response


@login_required
@require_GET
@reporting_view
def escalations_inbox_page(request: HttpRequest) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    state = request.GET.get("state", selectors.INBOX_NEEDS_ACK)
    if state not in dict(selectors.INBOX_STATES):
        return HttpResponseBadRequest("state: one of " + ", ".join(dict(selectors.INBOX_STATES)))
    page = CappedPaginator(
        selectors.escalations_inbox(scope=scope, state=state),
        INBOX_PAGE_SIZE,
        cap=INBOX_COUNT_CAP,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "reporting/board/escalations.html",
        {"page": page, "state": state, "states": selectors.INBOX_STATES},
    )


# --- metrics -------------------------------------------------------------------------


def _parse_metrics_filter(request: HttpRequest, scope: selectors.BoardScope):
    form = metrics_selectors.MetricsFilterForm(request.GET, scope=scope)
    if not form.is_valid():
        return None, form
    return form.metrics_filter(), form


@login_required
@require_GET
@reporting_view
def metrics_page(request: HttpRequest) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    metrics_filter, form = _parse_metrics_filter(request, scope)
    if metrics_filter is None:
        return render(request, "reporting/board/metrics.html", {"form": form}, status=400)
    report = metrics_selectors.metrics_report(scope=scope, metrics_filter=metrics_filter)
    charts = {
        "kept_on_time": line_chart(
            [(row["week"], row["kept_on_time_percent"]) for row in report.promise_weeks],
            y_label="% kept on time",
            y_max=100,
            partial=report.partial_weeks,
            empty="No promise came due in this range yet.",
        ),
        "fcr": line_chart(
            [(row["week"], row["first_contact_resolution_percent"]) for row in report.matter_weeks],
            y_label="% resolved on first contact",
            y_max=100,
            partial=report.partial_weeks,
            empty="No matters opened in this range yet.",
        ),
        "complaints": bar_chart(
            report.complaint_weeks_by_category,
            categories=report.complaint_categories,
            y_label="complaints",
            empty="No complaints in this range.",
        ),
        "csat": line_chart(
            [(row["week"], row["csat_average"]) for row in report.csat_weeks],
            y_label="CSAT (1-5)",
            y_max=5,
            intervals=5,
            partial=report.partial_weeks,
            empty="No feedback answered in this range yet.",
        ),
    }
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reporting/board/metrics.html",
        {
            "form": form,
            "report": report,
            "charts": charts,
            "filter_query": query.urlencode(),
            "median_lateness_text": _duration_text(report.promises.median_lateness),
            # Read from a replica (DATABASE_REPLICA_URL): how far behind its figures may be.
            "replica_lag_seconds": replica_lag_seconds(),
            "complaint_rows": [
                {
                    "week": row["week"],
                    "values": [row.get(category, 0) for category in report.complaint_categories],
                    "total": row.get("total", 0),
                }
                for row in report.complaint_weeks_by_category
            ],
        },
    )


def _duration_text(value: timedelta | None) -> str:
    if value is None:
        return ""
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}"
    return f"{hours / 24:.1f} days"


@login_required
@require_GET
@reporting_view
def metrics_csv(request: HttpRequest, table: str) -> HttpResponse:
    scope = selectors.board_scope(request.user)
    if table not in metrics_selectors.CSV_TABLES:
        return HttpResponseBadRequest("Unknown table.")
    metrics_filter, form = _parse_metrics_filter(request, scope)
    if metrics_filter is None:
        return HttpResponseBadRequest(form.errors.as_text())
    header, rows = metrics_selectors.metrics_table(
        table, scope=scope, metrics_filter=metrics_filter
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="rapport-{table}-{metrics_filter.start}-{metrics_filter.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return response
