"""API clients register their own webhook endpoints: /api/v1/webhooks/endpoints/.

An API client sees and changes only its own endpoints (scope followups:read to
read, followups:write to change); admins signed in see all. Writes go through
followups.webhooks.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from core.authentication import api_client_of
from core.serializer_fields import RejectUnknownFieldsMixin
from crm import access
from followups import webhooks
from followups.webhook_models import WEBHOOK_EVENT_TYPES, WebhookDelivery, WebhookEndpoint

EVENT_TYPE_NAMES = sorted(set(WEBHOOK_EVENT_TYPES.values()))
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
        help_text="Empty or absent: every event type.",
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
