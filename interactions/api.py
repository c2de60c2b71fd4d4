"""Interaction API under /api/v1/: parse, authorise, call a service or selector, render."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.authentication import api_client_of
from core.errors import Conflict
from core.filters import IdFilter, StrictFilterSet, UtcDateTimeFilter
from core.idempotency import idempotent
from core.pagination import ChangeFeedPagination
from core.permissions import HasScope
from core.query import query_choice, query_id, query_int
from core.schema import ID, NON_EMPTY_FILE
from core.serializer_fields import unknown_field_errors
from crm import selectors as crm_selectors
from crm.api import IsCrmUser
from interactions import attribution, email_ingest, matters, selectors
from interactions.models import Interaction, Matter
from interactions.serializers import (
    EmailIngestResponseSerializer,
    InteractionSerializer,
    InteractionUpdateSerializer,
    InteractionWriteSerializer,
    TimelineResponseSerializer,
)

INTERACTION_SCOPES = {"GET": ["interactions:read"], "*": ["interactions:write"]}


class InteractionFilter(StrictFilterSet):
    customer = IdFilter(field_name="customer_id")
    channel = filters.ChoiceFilter(choices=Interaction.Channel.choices)
    direction = filters.ChoiceFilter(choices=Interaction.Direction.choices)
    rep = IdFilter(field_name="rep_id")
    team = IdFilter(field_name="team_id")
    category = filters.CharFilter(field_name="category_id", help_text="Category slug.")
    matter = IdFilter(field_name="matter_id")
    occurred_after = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="Inclusive."
    )
    occurred_before = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="Exclusive."
    )
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Change feed: rows changed at or after this time, oldest change first; "
        "follow `next` (a cursor) to continue.",
    )

    class Meta:
        model = Interaction
        fields = []


def _service_call(function, **kwargs):
    try:
        return function(**kwargs)
    except Conflict:
        raise  # a 409 (core.errors.exception_handler)
    except DjangoValidationError as exc:
        raise ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        ) from exc


@extend_schema_view(
    list=extend_schema(
        summary="List interactions",
        description="Newest first. With `updated_since` or `cursor`: a change feed ordered "
        "by (updated_at, id).",
    ),
    retrieve=extend_schema(summary="Read an interaction"),
)
class InteractionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [HasScope, IsCrmUser]
    required_scopes = INTERACTION_SCOPES
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    request_body_required = {"matter"}  # {"matter": null} unlinks; no body is a 400
    pagination_class = ChangeFeedPagination

    def get_queryset(self):
        return selectors.interaction_queryset().order_by("-occurred_at", "-pk")

    def _editable_object(self, request) -> Interaction:
        interaction = self.get_object()
        # API clients are trusted by scope (interactions:write); people by crm.access.
        if request.auth is None and not selectors.interaction_can_edit(
            user=request.user, interaction=interaction
        ):
            raise PermissionDenied(
                "You may change your own interactions (supervisors: their teams')."
            )
        return interaction

    def get_serializer_class(self):
        if self.action == "create":
            return InteractionWriteSerializer
        if self.action in ("update", "partial_update"):
            return InteractionUpdateSerializer
        return InteractionSerializer

    @extend_schema(request=InteractionUpdateSerializer, responses={200: InteractionSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @extend_schema(
        request=InteractionWriteSerializer,
        responses={
            201: InteractionSerializer,
            409: OpenApiResponse(
                description="An interaction with this `source` and `external_id` exists "
                "(replays: send an `Idempotency-Key`, or use the batch sync)."
            ),
        },
        examples=[
            OpenApiExample(
                "A phone call",
                value={
                    "customer": 42,
                    "channel": "phone",
                    "direction": "inbound",
                    "occurred_at": "2026-03-05T10:00:00Z",
                    "duration_seconds": 240,
                    "subject": "Bill too high",
                    "summary": "Explained the tariff change.",
                    "outcome": "resolved",
                    "category": "complaint",
                    "sentiment": -1,
                    "from_number": "(415) 555-2671",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = InteractionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data["customer"].merged_into_id is not None:  # an old id resolves to its survivor
            data["customer"] = crm_selectors.customer_get(customer_id=data["customer"].pk)
        # A person logs as themselves; an API client names the rep (interactions.attribution).
        interaction = _service_call(
            attribution.interaction_log_attributed,
            actor=request.user,
            api_client=api_client_of(request),
            **data,
        )
        # The new instance holds every related row the response shows, and no
        # feedback can exist yet: answer from it instead of reading it back.
        Interaction.feedback.related.set_cached_value(interaction, None)
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InteractionUpdateSerializer, responses={200: InteractionSerializer})
    def update(self, request, *args, **kwargs):
        interaction = self._editable_object(request)
        serializer = InteractionUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        _service_call(
            attribution.interaction_update_attributed,
            actor=request.user,
            api_client=api_client_of(request),
            interaction=interaction,
            changes=changes,
        )
        interaction = selectors.interaction_get(interaction_id=interaction.pk)
        return Response(InteractionSerializer(interaction).data)

    @extend_schema(
        summary="Link an interaction to a matter, or unlink it",
        request={
            "application/json": {
                "type": "object",
                "properties": {"matter": {"type": "integer", "minimum": 1, "nullable": True}},
                "required": ["matter"],
                "additionalProperties": False,
            }
        },
        responses={200: InteractionSerializer},
        examples=[
            OpenApiExample("Link", value={"matter": 7}, request_only=True),
            OpenApiExample("Unlink (own new matter)", value={"matter": None}, request_only=True),
        ],
    )
    @action(detail=True, methods=["post"], url_path="matter")
    def matter(self, request, pk=None):
        interaction = self._editable_object(request)
        unknown = unknown_field_errors(request.data, {"matter"})
        if not isinstance(request.data, dict) or "matter" not in request.data:
            raise ValidationError(
                {"matter": ["This field is required (an id or null)."], **unknown}
            )
        if unknown:
            raise ValidationError(unknown)
        matter_id = request.data["matter"]
        if matter_id is None:
            _service_call(matters.interaction_matter_unlink, interaction=interaction)
        else:
            if isinstance(matter_id, bool) or not isinstance(matter_id, int):
                raise ValidationError({"matter": ["Expected a matter id or null."]})
            matter = Matter.objects.filter(pk=matter_id).first()
            if matter is None:
                raise ValidationError({"matter": [f"No matter with id {matter_id}."]})
            _service_call(matters.interaction_matter_link, interaction=interaction, matter=matter)
        interaction = selectors.interaction_get(interaction_id=interaction.pk)
        return Response(InteractionSerializer(interaction).data)


class RawMessageParser(parsers.BaseParser):
    """A raw RFC 5322 message, as bytes."""

    media_type = "message/rfc822"

    def parse(self, stream, media_type=None, parser_context=None):
        # The middleware refused a longer body already (config/body_limits.py); never
        # read past the limit whatever the stream claims.
        limit = settings.EMAIL_INGEST_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestDataTooBig(f"At most {limit} bytes per message.")
        return raw


class EmailIngestView(APIView):
    permission_classes = [HasScope, IsCrmUser]
    required_scopes = {"POST": ["interactions:write"]}
    parser_classes = [RawMessageParser]
    request_body_required = True

    @extend_schema(
        summary="Ingest a raw e-mail",
        description="Body: the message exactly as received (`Content-Type: message/rfc822`). "
        "Creates an e-mail interaction: sender matched to a customer by address, threaded "
        "into a matter by In-Reply-To / References / subject when the sender is the customer "
        "or a participant of the thread (else unmatched). A message is outbound (by the rep "
        "in From:) only from an API client with the `email:outbound` scope (the team's "
        "outgoing mail gateway); otherwise it is inbound whatever its From: says. A message "
        "without Message-ID gets a stable id from a hash of its content, so a re-delivery answers 200 with "
        "the first interaction instead of a duplicate.",
        request={"message/rfc822": NON_EMPTY_FILE},
        responses={
            201: EmailIngestResponseSerializer,
            200: OpenApiResponse(EmailIngestResponseSerializer, description="Re-delivery."),
            400: OpenApiResponse(description="Not an e-mail; `errors` names the field."),
        },
        examples=[
            OpenApiExample(
                "Message",
                value="From: Ann <ann@example.com>\r\nTo: support@example.org\r\n"
                "Subject: Order 42\r\nMessage-ID: <a1@example.com>\r\n"
                "Date: Thu, 05 Mar 2026 10:00:00 +0000\r\n\r\nWhere is my order?\r\n",
                request_only=True,
                media_type="message/rfc822",
            )
        ],
    )
    def post(self, request):
        raw = request.data
        if not isinstance(raw, bytes):
            raise ValidationError({"message": ["Send the message as message/rfc822."]})
        client = api_client_of(request)
        result = _service_call(
            email_ingest.interaction_email_ingest,
            raw=raw,
            # Outbound only through the team's outgoing mail gateway, never by From: alone.
            is_outgoing_gateway=client is not None and client.has_scopes(["email:outbound"]),
        )
        interaction = selectors.interaction_get(interaction_id=result.interaction.pk)
        body = {"created": result.created, "interaction": InteractionSerializer(interaction).data}
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


class CustomerTimelineView(APIView):
    permission_classes = [HasScope, IsCrmUser]
    required_scopes = {"GET": ["interactions:read"]}

    @extend_schema(
        summary="A customer's timeline",
        description="All interactions across channels, newest first, cursor-paginated: "
        "follow `next`; pages stay stable while new interactions arrive.",
        parameters=[
            OpenApiParameter("channel", str, enum=Interaction.Channel.values),
            OpenApiParameter("category", str, description="Category slug."),
            OpenApiParameter("matter", ID),
            OpenApiParameter("cursor", str),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": selectors.TIMELINE_MAX_PAGE_SIZE},
                description=f"Default {selectors.TIMELINE_PAGE_SIZE}.",
            ),
        ],
        responses={200: TimelineResponseSerializer},
    )
    def get(self, request, customer_id: int):
        customer = crm_selectors.customer_get(customer_id=customer_id)
        params = request.query_params
        page_size = query_int(params, "page_size", maximum=selectors.TIMELINE_MAX_PAGE_SIZE)
        page = _service_call(
            selectors.customer_timeline,
            customer_id=customer.pk,
            channel=query_choice(params, "channel", Interaction.Channel.values),
            category=params.get("category") or None,
            matter_id=query_id(params, "matter"),
            cursor=params.get("cursor") or None,
            page_size=page_size or selectors.TIMELINE_PAGE_SIZE,
        )
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response(
            {"next": next_url, "results": InteractionSerializer(page.items, many=True).data}
        )
