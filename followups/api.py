"""/api/v1/followups/: parse, authorise, call a service or selector, render."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.authentication import api_client_of
from core.idempotency import idempotent
from core.pagination import ChangeFeedPagination
from core.query import query_bool, query_choice, query_datetime, query_id
from core.schema import ID
from core.serializer_fields import RejectUnknownFieldsMixin
from crm import access
from followups import selectors, services, webhooks
from followups.models import WEBHOOK_EVENT_TYPE_NAMES, FollowUp, WebhookDelivery, WebhookEndpoint
from followups.serializers import (
    CancelSerializer,
    CompleteSerializer,
    FollowUpCreateSerializer,
    FollowUpDetailSerializer,
    FollowUpSerializer,
    ReassignSerializer,
    RenegotiateSerializer,
)

ORDERING_FIELDS = ["due_at", "created_at", "updated_at", "escalation_level", "priority"]
ORDERINGS = [f"{sign}{name}" for name in ORDERING_FIELDS for sign in ("", "-")]
FOLLOWUP_SCOPES = {"GET": ["followups:read"], "*": ["followups:write"]}

EXAMPLE_FOLLOWUP = {
    "id": 7,
    "customer": 42,
    "customer_name": "Jane",
    "origin_interaction": 901,
    "owner": 3,
    "owner_username": "maria",
    "team": 1,
    "action": "Call back with the refund date",
    "channel": "phone",
    "priority": "normal",
    "status": "open",
    "due_phrase": "by Friday",
    "due_at": "2026-11-27T22:00:00Z",
    "original_due_at": "2026-11-27T22:00:00Z",
    "due_at_customer_local": "2026-11-27T22:00:00+00:00",
    "due_at_team_local": "2026-11-27T17:00:00-05:00",
    "is_reminded": False,
    "is_overdue": False,
    "escalation_level": 0,
    "next_action_at": "2026-11-27T21:00:00Z",
    "renegotiation_count": 0,
    "completed_at": None,
    "completed_by": None,
    "completion_note": "",
    "kept_by_interaction": None,
    "is_kept_on_time": None,
    "cancel_reason": "",
    "created_at": "2026-11-23T15:02:11Z",
    "updated_at": "2026-11-23T15:02:11Z",
}


class IsCrmUser(BasePermission):
    message = "Only members of a team may use the follow-up API."

    def has_permission(self, request, view) -> bool:
        if api_client_of(request) is not None:
            return True
        return access.is_staff_member(request.user)


ALREADY_CLOSED = OpenApiResponse(description="The promise is already done or cancelled.")

LIST_PARAMETERS = [
    OpenApiParameter("overdue", bool, description="true: open promises past due."),
    OpenApiParameter("owner", ID, description="Owner's user id."),
    OpenApiParameter("team", ID, description="Team id."),
    OpenApiParameter("customer", ID, description="Customer id."),
    OpenApiParameter(
        "due_before", OpenApiTypes.DATETIME, description="With a UTC offset; due strictly before."
    ),
    OpenApiParameter("status", str, enum=[s for s, _ in FollowUp.Status.choices]),
    OpenApiParameter(
        "ordering", str, enum=ORDERINGS, description="Default due_at; - for descending."
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="List promises (follow-ups)",
        parameters=LIST_PARAMETERS,
        description="Team-private: reps and supervisors see their teams' promises, admins "
        "all; API clients need followups:read.",
    ),
    retrieve=extend_schema(summary="Read a promise with its history"),
)
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, IsCrmUser]
    required_scopes = FOLLOWUP_SCOPES
    pagination_class = ChangeFeedPagination  # ?updated_since= / ?cursor= change feed
    lookup_value_regex = "[0-9]+"

    def _viewer(self):
        """None for an API client (scope-checked, all teams); else the session user."""
        return None if api_client_of(self.request) is not None else self.request.user

    def get_serializer_class(self):
        return FollowUpDetailSerializer if self.action != "list" else FollowUpSerializer

    def get_queryset(self):
        params = self.request.query_params
        ordering = query_choice(params, "ordering", ORDERINGS) or ""
        rows = selectors.followup_list(
            user=self._viewer(),
            status=query_choice(params, "status", FollowUp.Status.values),
            is_overdue=query_bool(params, "overdue"),
            owner_id=query_id(params, "owner"),
            team_id=query_id(params, "team"),
            customer_id=query_id(params, "customer"),
            due_before=query_datetime(params, "due_before"),
        )
        return (
            rows.order_by(ordering, "pk" if not ordering.startswith("-") else "-pk")
            if ordering
            else rows
        )

    def get_object(self):
        return selectors.access_followup(user=self._viewer(), followup_id=int(self.kwargs["pk"]))

    def _detail(self, followup_id: int, status_code=status.HTTP_200_OK) -> Response:
        followup = selectors.access_followup(user=self._viewer(), followup_id=followup_id)
        return Response(FollowUpDetailSerializer(followup).data, status=status_code)

    def _call(self, use_case, **kwargs) -> Response:
        try:
            followup = use_case(**kwargs, by_api_client=api_client_of(self.request) is not None)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return self._detail(followup.pk)

    @extend_schema(
        request=FollowUpCreateSerializer,
        responses={201: FollowUpDetailSerializer},
        summary="Promise a follow-up",
        examples=[
            OpenApiExample(
                "Said on the phone",
                request_only=True,
                value={
                    "customer": 42,
                    "action": "Call back with the refund date",
                    "due_phrase": "by Friday",
                    "origin_interaction": 901,
                    "priority": "normal",
                },
            ),
            OpenApiExample(
                "Exact time",
                request_only=True,
                value={"customer": 42, "action": "E-mail the quote", "due_at": "2026-11-25T15:00Z"},
            ),
            OpenApiExample("Created", response_only=True, value=EXAMPLE_FOLLOWUP),
        ],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = FollowUpCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        is_client = api_client_of(request) is not None
        owner = data.pop("owner", None)
        if owner is None:
            if is_client:
                raise ValidationError({"owner": ["API clients must name the owner."]})
            owner = request.user
        try:
            followup = services.followup_promise(
                owner=owner,
                created_by=request.user,
                by_api_client=is_client,
                **data,
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return self._detail(followup.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=CompleteSerializer,
        responses={200: FollowUpDetailSerializer, 409: ALREADY_CLOSED},
        summary="Complete a promise (kept)",
        description="With `interaction`, the logged interaction with the customer kept it. "
        "Records on time or late against the latest agreed due time.",
        examples=[
            OpenApiExample(
                "Kept by a call",
                request_only=True,
                value={"note": "Gave the refund date", "interaction": 950},
            ),
            OpenApiExample(
                "Completed",
                response_only=True,
                value={**EXAMPLE_FOLLOWUP, "status": "done", "is_kept_on_time": True},
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        followup = self.get_object()
        serializer = CompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._call(
            services.followup_complete,
            followup_id=followup.pk,
            user=request.user,
            note=serializer.validated_data["note"],
            kept_by_interaction=serializer.validated_data.get("interaction"),
        )

    @extend_schema(
        request=ReassignSerializer,
        responses={200: FollowUpDetailSerializer, 409: ALREADY_CLOSED},
        summary="Reassign a promise",
        description="Pending reminders and escalations follow the new owner.",
        examples=[
            OpenApiExample(
                "To a colleague", request_only=True, value={"owner": 5, "reason": "On leave"}
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        followup = self.get_object()
        serializer = ReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._call(
            services.followup_reassign,
            followup_id=followup.pk,
            new_owner=serializer.validated_data["owner"],
            user=request.user,
            reason=serializer.validated_data["reason"],
        )

    @extend_schema(
        request=RenegotiateSerializer,
        responses={200: FollowUpDetailSerializer, 409: ALREADY_CLOSED},
        summary="Renegotiate the due time with the customer",
        description="Starts a new reminder/overdue/escalation cycle; counted apart from misses.",
        examples=[
            OpenApiExample(
                "Customer asked for Monday",
                request_only=True,
                value={"due_phrase": "by Monday", "reason": "Customer away until Monday"},
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def renegotiate(self, request, pk=None):
        followup = self.get_object()
        serializer = RenegotiateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return self._call(
            services.followup_renegotiate,
            followup_id=followup.pk,
            due_at=data.get("due_at"),
            due_phrase=data.get("due_phrase", ""),
            user=request.user,
            reason=data["reason"],
        )

    @extend_schema(
        request=CancelSerializer,
        responses={200: FollowUpDetailSerializer, 409: ALREADY_CLOSED},
        summary="Cancel a promise (with a reason)",
        examples=[
            OpenApiExample(
                "No longer needed",
                request_only=True,
                value={"reason": "Customer solved it themselves"},
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        followup = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._call(
            services.followup_cancel,
            followup_id=followup.pk,
            user=request.user,
            reason=serializer.validated_data["reason"],
        )


# --- webhook endpoints (an API client's own, or admins) ------------------------------

EVENT_TYPE_NAMES = WEBHOOK_EVENT_TYPE_NAMES  # followup.* and interaction.* (docs/integrations.md)
DELIVERY_LOG_LIMIT = 100  # newest first; older ones are in the admin's full log


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPE_NAMES))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "failing_since",
            "disabled_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="`whsec_…`: shown once; verify signatures with it.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_NAMES),
        required=False,
        max_length=len(EVENT_TYPE_NAMES),
        help_text="Empty or absent: every event type (interaction.* only with the "
        "interactions:read scope).",
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookEndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    required_scopes = {"GET": ["followups:read"], "*": ["followups:write"]}
    serializer_class = WebhookEndpointSerializer
    pagination_class = None  # a client's few endpoints
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        endpoints = WebhookEndpoint.objects.order_by("pk")
        client = api_client_of(self.request)
        if client is not None:
            return endpoints.filter(api_client=client)
        if not access.is_admin(self.request.user):
            raise PermissionDenied("Only admins and API clients manage webhook endpoints.")
        return endpoints

    def perform_destroy(self, instance):
        webhooks.webhook_endpoint_delete(endpoint=instance)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        summary="Register a webhook endpoint (the signing secret is in this answer only)",
    )
    def create(self, request):
        self.get_queryset()  # the permission check
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            issued = webhooks.webhook_endpoint_create(
                api_client=api_client_of(request),
                created_by=request.user if request.user.is_authenticated else None,
                **serializer.validated_data,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        data = WebhookEndpointSerializer(issued.endpoint).data
        return Response({**data, "secret": issued.secret}, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses=WebhookDeliverySerializer(many=True),
        summary=f"The endpoint's delivery log (newest {DELIVERY_LOG_LIMIT})",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        rows = endpoint.deliveries.order_by("-id")[:DELIVERY_LOG_LIMIT]
        return Response(WebhookDeliverySerializer(rows, many=True).data)

    @extend_schema(
        request=None,
        responses=WebhookDeliverySerializer,
        summary="Replay one delivery (same webhook-id)",
        operation_id="webhooks_endpoints_deliveries_replay",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/replay",
    )
    def replay(self, request, pk=None, delivery_id=None):
        endpoint = self.get_object()
        delivery = get_object_or_404(endpoint.deliveries, pk=delivery_id)
        webhooks.webhook_delivery_replay(delivery=delivery)
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data)
