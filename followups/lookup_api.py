"""Caller-ID lookup (screen-pop): GET /api/v1/lookup/?phone=...|email=...

Lives in followups because it shows open promises; it reads crm and
interactions through their models/selectors (followups -> interactions -> crm).
Constant query count whatever the number of customers, facts, interactions
or promises: one query per kind of row.
"""

from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.audit import audit_customers_viewed
from core.authentication import api_client_of
from core.errors import error_response
from core.schema import NON_BLANK
from core.serializer_fields import RejectUnknownFieldsMixin
from crm import access
from crm.models import Customer
from followups import selectors


class PinnedFactSerializer(serializers.Serializer):
    category = serializers.CharField()
    text = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class RecentInteractionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    direction = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField()
    summary = serializers.CharField()
    outcome = serializers.CharField()
    rep = serializers.CharField(source="rep.username", allow_null=True, default=None)


class OpenPromiseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    due_at = serializers.DateTimeField()
    is_overdue = serializers.BooleanField()
    owner = serializers.CharField(source="owner.username")


class LookupCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    preferred_name = serializers.CharField()
    display_name = serializers.CharField()
    pronunciation = serializers.CharField()
    preferred_language = serializers.CharField()
    time_zone = serializers.CharField()
    local_time = serializers.SerializerMethodField()
    pinned_facts = PinnedFactSerializer(many=True)
    recent_interactions = RecentInteractionSerializer(
        many=True, allow_null=True, help_text="Null without the interactions:read scope."
    )
    open_promises = OpenPromiseSerializer(
        many=True, allow_null=True, help_text="Null without the followups:read scope."
    )

    def get_local_time(self, customer: Customer) -> str:
        return timezone.now().astimezone(ZoneInfo(customer.time_zone)).isoformat(timespec="seconds")

    def to_representation(self, instance):
        for name in ("recent_interactions", "open_promises"):
            if not hasattr(instance, name):
                setattr(instance, name, None)
        return super().to_representation(instance)


class LookupResponseSerializer(serializers.Serializer):
    results = LookupCustomerSerializer(many=True)


class LookupRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Exactly one of phone or email."""

    request_schema_constraints = {"minProperties": 1, "maxProperties": 1}

    phone = serializers.CharField(required=False, help_text="Any written form.")
    email = serializers.CharField(required=False)


class CallerLookupView(APIView):
    required_scopes = {"GET": ["customers:read"], "POST": ["customers:read"]}

    @extend_schema(
        operation_id="lookup_caller",
        summary="Caller-ID screen-pop: who is calling?",
        description=(
            "Customers with this phone number (any format) or e-mail: preferred name, "
            "pronunciation, language, local time, pinned things to remember, open promises "
            "and the last five interactions. API clients need `customers:read`; the "
            "interactions and promises are included with `interactions:read` / `followups:read`."
        ),
        parameters=[
            OpenApiParameter(
                "phone",
                NON_BLANK,
                OpenApiParameter.QUERY,
                required=False,
                description="Any written form. Give exactly one of phone or email.",
                examples=[
                    OpenApiExample("US national", value="(415) 555-2671"),
                ],
            ),
            OpenApiParameter(
                "email",
                NON_BLANK,
                OpenApiParameter.QUERY,
                required=False,
                description="Give exactly one of phone or email.",
            ),
        ],
        responses={200: LookupResponseSerializer},
        examples=[
            OpenApiExample(
                "One caller",
                value={
                    "results": [
                        {
                            "id": 42,
                            "full_name": "Jane Doe",
                            "preferred_name": "Jane",
                            "display_name": "Jane",
                            "pronunciation": "JAYN DOH",
                            "preferred_language": "en",
                            "time_zone": "America/Los_Angeles",
                            "local_time": "2026-03-05T02:00:00-08:00",
                            "pinned_facts": [
                                {
                                    "category": "family",
                                    "text": "Daughter Mia starts college in May",
                                    "recorded_at": "2026-02-01T10:00:00Z",
                                }
                            ],
                            "recent_interactions": [],
                            "open_promises": [],
                        }
                    ]
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        return self._lookup(request, request.query_params)

    @extend_schema(
        operation_id="lookup_caller_by_body",
        summary="Caller-ID screen-pop, the number in the body",
        description=(
            'The same lookup with `{"phone": ...}` or `{"email": ...}` as the JSON body, '
            "so the caller's number never appears in a URL (access logs, proxies, "
            "browser history). Preferred for phone systems."
        ),
        request=LookupRequestSerializer,
        responses={200: LookupResponseSerializer},
    )
    def post(self, request):
        serializer = LookupRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._lookup(request, serializer.validated_data)

    def _lookup(self, request, params):
        phone = params.get("phone", "").strip()
        email = params.get("email", "").strip()
        if "\x00" in phone + email or bool(phone) == bool(email):
            return error_response(
                code="invalid",
                detail="Invalid input in: phone, email.",
                errors={
                    "phone": ["Give exactly one of phone or email."],
                    "email": ["Give exactly one of phone or email."],
                },
            )
        client = api_client_of(request)
        if client is not None:
            with_interactions = client.has_scopes(["interactions:read"])
            promise_filter = Q() if client.has_scopes(["followups:read"]) else None
        else:
            with_interactions = True
            if access.is_admin(request.user):
                promise_filter = Q()
            else:
                # Promises are team-private (crm.access): the caller's teams, or their own.
                promise_filter = Q(team_id__in=access.team_ids_of(request.user)) | Q(
                    owner=request.user
                )
        customers = selectors.customer_lookup(
            phone=phone[:64],
            email=email[:320],
            with_interactions=with_interactions,
            promise_filter=promise_filter,
        )
        # A screen-pop shows personal details: each customer shown is a profile view.
        audit_customers_viewed(
            actor=request.user,
            customer_ids=[customer.pk for customer in customers],
            request=request,
            via="lookup",
        )
        return Response({"results": LookupCustomerSerializer(customers, many=True).data})
