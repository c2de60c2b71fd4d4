"""`/api/v1/metrics/...`: the supervisors' figures for BI tools.

The same selectors as the metrics page and board (reporting/metrics_selectors.py,
reporting/board_selectors.py), so the API and the page never disagree.
Session users need to be supervisors or admins; API clients need the
`followups:read` scope and a user who is one.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.db_routing import reporting_view
from reporting import board_selectors, metrics_selectors

FILTER_PARAMETERS = [
    OpenApiParameter("start", str, description="First day (YYYY-MM-DD, UTC), default 12 weeks ago"),
    OpenApiParameter(
        "end", str, description="Last day, inclusive (YYYY-MM-DD, UTC), default today"
    ),
    OpenApiParameter("team", int, description="Team id (one of the caller's teams)"),
    OpenApiParameter("rep", int, description="User id of a rep"),
    OpenApiParameter("channel", str, enum=["phone", "email", "in_person", "chat", "sms", "video"]),
]


class _Base(APIView):
    required_scopes = {"GET": ["followups:read"]}

    def metrics_filter(self, request: Request):
        scope = board_selectors.board_scope(request.user)
        form = metrics_selectors.MetricsFilterForm(request.query_params, scope=scope)
        if not form.is_valid():
            raise ValidationError(
                {
                    field: [error["message"] for error in errors]
                    for field, errors in form.errors.get_json_data().items()
                }
            )
        return scope, form.metrics_filter()


class PromiseMetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    due_in_range = serializers.IntegerField()
    kept_on_time = serializers.IntegerField()
    kept_late = serializers.IntegerField()
    missed = serializers.IntegerField(help_text="Open past due (due in the range)")
    decided = serializers.IntegerField()
    kept_on_time_percent = serializers.FloatField(allow_null=True)
    median_lateness_seconds = serializers.FloatField(allow_null=True)
    renegotiated = serializers.IntegerField()
    renegotiations = serializers.IntegerField()
    open_now = serializers.IntegerField()
    overdue_now = serializers.IntegerField()
    weeks = serializers.ListField(child=serializers.DictField())


class ContactMetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    interactions = serializers.IntegerField()
    matters = serializers.IntegerField(allow_null=True)
    resolved_first_contact = serializers.IntegerField(allow_null=True)
    first_contact_resolution_percent = serializers.FloatField(allow_null=True)
    repeat_7d = serializers.IntegerField(allow_null=True)
    repeat_7d_percent = serializers.FloatField(allow_null=True)
    repeat_30d = serializers.IntegerField(allow_null=True)
    repeat_30d_percent = serializers.FloatField(allow_null=True)
    complaints = serializers.IntegerField(allow_null=True)
    csat_requests = serializers.IntegerField(allow_null=True)
    csat_responses = serializers.IntegerField(allow_null=True)
    csat_response_rate_percent = serializers.FloatField(allow_null=True)
    csat_average = serializers.FloatField(allow_null=True)
    weeks = serializers.ListField(child=serializers.DictField())


class ComplaintMetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    categories = serializers.ListField(child=serializers.CharField())
    weeks = serializers.ListField(child=serializers.DictField())
    trend = serializers.DictField(allow_null=True)


class CsatMetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    weeks = serializers.ListField(child=serializers.DictField())


class BoardCountsSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    total = serializers.IntegerField()
    buckets = serializers.DictField(child=serializers.IntegerField())
    escalation_levels = serializers.DictField(child=serializers.IntegerField())
    unacknowledged = serializers.IntegerField()
    teams = serializers.ListField(child=serializers.DictField())


class PromiseMetricsView(_Base):
    @extend_schema(
        operation_id="metrics_promises",
        summary="Promises kept on time, lateness, renegotiations, open and overdue now",
        parameters=FILTER_PARAMETERS,
        responses=PromiseMetricsSerializer,
        examples=[
            OpenApiExample(
                "Twelve weeks",
                value={
                    "start": "2026-09-01",
                    "end": "2026-11-23",
                    "due_in_range": 120,
                    "kept_on_time": 90,
                    "kept_late": 12,
                    "missed": 6,
                    "decided": 108,
                    "kept_on_time_percent": 83.3,
                    "median_lateness_seconds": 5400.0,
                    "renegotiated": 9,
                    "renegotiations": 11,
                    "open_now": 40,
                    "overdue_now": 6,
                    "weeks": [
                        {
                            "week": "2026-11-16",
                            "kept_on_time": 8,
                            "kept_late": 1,
                            "missed": 1,
                            "decided": 10,
                            "kept_on_time_percent": 80.0,
                            "renegotiated": 1,
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    @reporting_view
    def get(self, request: Request) -> Response:
        scope, metrics_filter = self.metrics_filter(request)
        report = metrics_selectors.promise_report(scope=scope, metrics_filter=metrics_filter)
        return Response(report)


class ContactMetricsView(_Base):
    @extend_schema(
        operation_id="metrics_contacts",
        summary="First-contact resolution, repeat contacts (7 and 30 days), complaints, CSAT",
        parameters=FILTER_PARAMETERS,
        responses=ContactMetricsSerializer,
    )
    @reporting_view
    def get(self, request: Request) -> Response:
        scope, metrics_filter = self.metrics_filter(request)
        return Response(
            metrics_selectors.contact_report(scope=scope, metrics_filter=metrics_filter)
        )


class ComplaintMetricsView(_Base):
    @extend_schema(
        operation_id="metrics_complaints",
        summary="Complaints by category per week, with the trend",
        parameters=FILTER_PARAMETERS,
        responses=ComplaintMetricsSerializer,
    )
    @reporting_view
    def get(self, request: Request) -> Response:
        scope, metrics_filter = self.metrics_filter(request)
        return Response(
            metrics_selectors.complaint_report(scope=scope, metrics_filter=metrics_filter)
        )


class CsatMetricsView(_Base):
    @extend_schema(
        operation_id="metrics_csat",
        summary="CSAT average and response rate per week",
        parameters=FILTER_PARAMETERS,
        responses=CsatMetricsSerializer,
    )
    @reporting_view
    def get(self, request: Request) -> Response:
        scope, metrics_filter = self.metrics_filter(request)
        return Response(metrics_selectors.csat_report(scope=scope, metrics_filter=metrics_filter))


class BoardCountsView(APIView):
    required_scopes = {"GET": ["followups:read"]}

    @extend_schema(
        operation_id="metrics_board",
        summary="The overdue board's counts: by team and rep, aging bucket and escalation level",
        responses=BoardCountsSerializer,
    )
    @reporting_view
    def get(self, request: Request) -> Response:
        scope = board_selectors.board_scope(request.user)
        return Response(board_selectors.board_counts_payload(scope=scope))
