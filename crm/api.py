"""Customer API under /api/v1/customers/: parse, authorise, call a service or selector, render."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core import audit
from core.errors import Conflict
from core.idempotency import idempotent
from core.pagination import ChangeFeedPagination
from core.query import query_choice, query_id
from core.schema import ID
from crm import access, selectors, services
from crm.models import ConsentRecord, ContactPoint, Customer, ProfileFact
from crm.search import NAME_SEARCH_LIMIT
from crm.serializers import (
    ConsentSerializer,
    ContactPointCreateSerializer,
    ContactPointSerializer,
    ContactPointUpdateSerializer,
    CustomerDetailSerializer,
    CustomerMergeResultSerializer,
    CustomerSerializer,
    CustomerWriteSerializer,
    DuplicateCandidateSerializer,
    DuplicateGroupSerializer,
    FactRevisionSerializer,
    FactSerializer,
    FactWriteSerializer,
    MergeSerializer,
)

ORDERING_FIELDS = ["full_name", "created_at", "updated_at", "last_activity_at"]
ORDERINGS = [f"{sign}{name}" for name in ORDERING_FIELDS for sign in ("", "-")]
CUSTOMER_SCOPES = {"GET": ["customers:read"], "*": ["customers:write"]}


class IsCrmUser(BasePermission):
    """Session users must be reps, supervisors or admins (crm.access); API
    clients were already checked for their scopes by HasScope."""

    message = "Only members of a team may use the customer API."

    def has_permission(self, request, view) -> bool:
        if request.auth is not None:  # an API client (Bearer): scoped by the default permission
            return True
        return access.is_staff_member(request.user)


def _customer_from_url(view) -> Customer:
    """The customer named in a nested URL; a merged id resolves to its survivor."""
    if not hasattr(view, "_customer"):
        view._customer = selectors.customer_get(customer_id=int(view.kwargs["customer_pk"]))
    return view._customer


LIST_PARAMETERS = [
    OpenApiParameter(
        "q",
        str,
        description="Name (partial, accent- and case-insensitive, typo-tolerant), "
        "phone in any written form, or e-mail. Results are ranked, best first. A name "
        f"search returns at most the best {NAME_SEARCH_LIMIT:,} matches, so its `count` "
        f"is at most {NAME_SEARCH_LIMIT:,}: narrow the query to reach others.",
    ),
    OpenApiParameter("owner", ID, description="Owner rep's user id."),
    OpenApiParameter("tag", str),
    OpenApiParameter("preferred_language", str, description="BCP 47 tag, e.g. de-DE."),
    OpenApiParameter("preferred_channel", str, enum=[c for c, _ in Customer.Channel.choices]),
    OpenApiParameter(
        "ordering",
        str,
        enum=ORDERINGS,
        description="Without q (a name search is ranked, best first); - for descending.",
    ),
]


@extend_schema_view(
    list=extend_schema(parameters=LIST_PARAMETERS, summary="Search and list customers"),
    retrieve=extend_schema(
        summary="Read a customer",
        description="A merged customer's id answers with its survivor (old ids resolve).",
    ),
)
class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, IsCrmUser]
    required_scopes = CUSTOMER_SCOPES
    pagination_class = ChangeFeedPagination  # ?updated_since= / ?cursor= change feed
    lookup_value_regex = "[0-9]+"

    def get_serializer_class(self):
        if self.action == "list":
            return CustomerSerializer
        if self.action in ("create", "update", "partial_update"):
            return CustomerWriteSerializer
        return CustomerDetailSerializer

    def get_queryset(self):
        if self.action != "list":
            return selectors.customer_profile_queryset()
        params = self.request.query_params
        channels = [channel for channel, _ in Customer.Channel.choices]
        return selectors.customer_list(
            query=params.get("q", ""),
            owner_id=query_id(params, "owner"),
            tag=params.get("tag", ""),
            preferred_language=params.get("preferred_language", ""),
            preferred_channel=query_choice(params, "preferred_channel", channels) or "",
            ordering=query_choice(params, "ordering", ORDERINGS) or "",
        )

    def get_object(self):
        return selectors.customer_profile(customer_id=int(self.kwargs["pk"]))

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        # Reading a profile is a touch of personal data: audited (core.audit).
        audit.audit_customer_viewed(
            actor=request.user, customer_id=int(response.data["id"]), request=request
        )
        return response

    def _detail(self, customer: Customer, status_code=status.HTTP_200_OK) -> Response:
        fresh = selectors.customer_profile(customer_id=customer.pk)
        return Response(
            CustomerDetailSerializer(fresh, context=self.get_serializer_context()).data,
            status=status_code,
        )

    @extend_schema(
        request=CustomerWriteSerializer,
        responses={201: CustomerDetailSerializer},
        summary="Create a customer",
        examples=[
            OpenApiExample(
                "A customer with a phone and an e-mail",
                request_only=True,
                value={
                    "full_name": "Siobhán O'Brien",
                    "preferred_name": "Shiv",
                    "pronunciation": "shi-VAWN",
                    "pronouns": "she/her",
                    "time_zone": "Europe/Dublin",
                    "preferred_language": "en-IE",
                    "preferred_channel": "email",
                    "quiet_hours_start": "21:00",
                    "quiet_hours_end": "08:00",
                    "tags": ["vip"],
                    "contact_points": [
                        {
                            "kind": "phone",
                            "value": "+353 87 123 4567",
                            "label": "mobile",
                            "is_primary": True,
                        },
                        {"kind": "email", "value": "Shiv@Example.ie", "is_primary": True},
                    ],
                },
            )
        ],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = CustomerWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        contact_points = [dict(spec) for spec in data.pop("contact_points", [])]
        customer = services.customer_create(
            **data, contact_points=contact_points, actor=request.user
        )
        return self._detail(customer, status.HTTP_201_CREATED)

    @extend_schema(
        request=CustomerWriteSerializer, responses=CustomerDetailSerializer, summary="Update"
    )
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        request=CustomerWriteSerializer, responses=CustomerDetailSerializer, summary="Update"
    )
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        customer = selectors.customer_get(customer_id=int(self.kwargs["pk"]))
        serializer = CustomerWriteSerializer(customer, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "contact_points" in data:
            raise ValidationError(
                {"contact_points": ["Change contact points at /customers/{id}/contact-points/."]}
            )
        tags = data.pop("tags", None)
        services.customer_update(customer=customer, changes=data, tags=tags, actor=request.user)
        return self._detail(customer)

    @extend_schema(
        request=MergeSerializer,
        responses={200: CustomerMergeResultSerializer},
        summary="Merge a duplicate into this customer",
        description="Supervisors and admins. Moves the duplicate's contact points, facts, "
        "consents, tags, interactions and follow-ups to this customer in one transaction; "
        "the duplicate's id then resolves to this customer.",
        examples=[
            OpenApiExample(
                "Fold customer 42 into this one", request_only=True, value={"source": 42}
            ),
            OpenApiExample(
                "What moved",
                response_only=True,
                value={
                    "id": 7,
                    "source": 42,
                    "target": 17,
                    "merged_at": "2026-11-23T10:15:00Z",
                    "moved": {
                        "crm.contactpoint.customer": [88],
                        "interactions.interaction.customer": [501, 502],
                        "dropped_duplicate_contact_points": [
                            {"id": 87, "kind": "phone", "value": "+14155550100"}
                        ],
                    },
                },
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = selectors.customer_get(customer_id=int(pk))
        source = Customer.objects.filter(pk=serializer.validated_data["source"]).first()
        if source is None:
            raise ValidationError({"source": ["No such customer."]})
        record = services.customer_merge(source=source, target=target, actor=request.user)
        return Response(CustomerMergeResultSerializer(record).data)

    @extend_schema(
        responses=DuplicateCandidateSerializer(many=True),
        summary="Possible duplicates of this customer",
    )
    @action(detail=True, methods=["get"], url_path="duplicates", pagination_class=None)
    def duplicates(self, request, pk=None):
        customer = selectors.customer_get(customer_id=int(pk))
        candidates = selectors.customer_duplicates(customer=customer)
        return Response(
            DuplicateCandidateSerializer(
                candidates, many=True, context=self.get_serializer_context()
            ).data
        )

    @extend_schema(
        responses=DuplicateGroupSerializer(many=True),
        summary="Phones and e-mails shared by several customers (merge queue)",
        operation_id="customers_duplicate_groups",
    )
    @action(detail=False, methods=["get"], url_path="duplicates", pagination_class=None)
    def duplicate_groups(self, request):
        groups = selectors.duplicate_groups()
        return Response(DuplicateGroupSerializer(groups, many=True).data)


CUSTOMER_PK = OpenApiParameter("customer_pk", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema(parameters=[CUSTOMER_PK])
class ContactPointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A customer's phones (E.164 + extension), e-mails and postal addresses."""

    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, IsCrmUser]
    required_scopes = CUSTOMER_SCOPES
    serializer_class = ContactPointSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return ContactPoint.objects.none()
        return ContactPoint.objects.filter(customer=_customer_from_url(self))

    @extend_schema(request=ContactPointCreateSerializer, responses={201: ContactPointSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ContactPointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact_point = services.contact_point_add(
            customer=_customer_from_url(self), actor=request.user, **serializer.validated_data
        )
        return Response(ContactPointSerializer(contact_point).data, status=201)

    @extend_schema(
        request=ContactPointUpdateSerializer,
        responses={
            200: ContactPointSerializer,
            409: OpenApiResponse(
                description="is_primary false on the primary: make another one primary instead."
            ),
        },
    )
    def partial_update(self, request, *args, **kwargs):
        contact_point = self.get_object()
        serializer = ContactPointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        make_primary = data.pop("is_primary", None)
        with transaction.atomic():
            services.contact_point_update(contact_point=contact_point, actor=request.user, **data)
            if make_primary:
                services.contact_point_make_primary(contact_point=contact_point, actor=request.user)
            elif make_primary is False and contact_point.is_primary:
                raise Conflict({"is_primary": ["Make another contact point primary instead."]})
        return Response(ContactPointSerializer(contact_point).data)

    def perform_destroy(self, instance):
        services.contact_point_remove(contact_point=instance, actor=self.request.user)


@extend_schema(parameters=[CUSTOMER_PK])
class FactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Things to remember. Edits keep a history; delete is soft and audited."""

    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, IsCrmUser]
    required_scopes = CUSTOMER_SCOPES
    serializer_class = FactSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProfileFact.objects.none()
        facts = ProfileFact.objects.filter(customer=_customer_from_url(self)).select_related(
            "recorded_by"
        )
        if self.action == "history":
            return facts  # a deleted fact's history stays readable: delete is soft and audited
        if self.action == "list" and self.request.query_params.get("include_deleted") == "true":
            return facts
        # A deleted fact is gone for reading and changing: 404, as after any DELETE.
        return facts.filter(deleted_at__isnull=True)

    @extend_schema(
        request=FactWriteSerializer,
        responses={201: FactSerializer},
        examples=[
            OpenApiExample(
                "A pinned fact",
                request_only=True,
                value={
                    "category": "family",
                    "text": "Daughter Mia starts school in September.",
                    "is_pinned": True,
                },
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        serializer = FactWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fact = services.fact_add(
            customer=_customer_from_url(self),
            actor=request.user,
            text=data["text"],
            category=data.get("category", ProfileFact.Category.OTHER),
            is_pinned=data.get("is_pinned", False),
            origin_interaction_id=data.get("origin_interaction_id"),
        )
        return Response(FactSerializer(fact).data, status=201)

    @extend_schema(request=FactWriteSerializer, responses=FactSerializer)
    def partial_update(self, request, *args, **kwargs):
        fact = self.get_object()
        serializer = FactWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.fact_update(
            fact=fact,
            actor=request.user,
            text=data.get("text"),
            category=data.get("category"),
            is_pinned=data.get("is_pinned"),
        )
        return Response(FactSerializer(fact).data)

    @extend_schema(responses={204: None}, summary="Delete (soft, audited)")
    def destroy(self, request, *args, **kwargs):
        services.fact_delete(fact=self.get_object(), actor=request.user)
        return Response(status=204)

    @extend_schema(responses=FactRevisionSerializer(many=True), summary="Edit history")
    @action(detail=True, methods=["get"])
    def history(self, request, *args, **kwargs):
        fact = self.get_object()
        return Response(FactRevisionSerializer(selectors.fact_history(fact=fact), many=True).data)


@extend_schema(parameters=[CUSTOMER_PK])
class ConsentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Consent per channel: each change is a record (status, how, when, by whom);
    the newest per channel is the current one."""

    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, IsCrmUser]
    required_scopes = CUSTOMER_SCOPES
    serializer_class = ConsentSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConsentRecord.objects.none()
        return _customer_from_url(self).consent_records.select_related("recorded_by")

    @extend_schema(
        request=ConsentSerializer,
        responses={201: ConsentSerializer},
        examples=[
            OpenApiExample(
                "Withdrawn on a call",
                request_only=True,
                value={"channel": "sms", "status": "withdrawn", "method": "verbal"},
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        serializer = ConsentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.consent_record(
            customer=_customer_from_url(self), actor=request.user, **serializer.validated_data
        )
        return Response(ConsentSerializer(record).data, status=201)
