"""Shapes of the customer API. Parsing only: every write goes through crm.services."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializer_fields import RejectUnknownFieldsMixin
from crm import selectors
from crm.fields import LocalTimeField
from crm.models import (
    FACT_TEXT_MAX_LENGTH,
    ConsentRecord,
    ContactPoint,
    Customer,
    ProfileFact,
    ProfileFactRevision,
)


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        fields = ["id", "kind", "label", "value", "extension", "is_primary", "created_at"]
        read_only_fields = ["id", "created_at"]


class ContactPointCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=ContactPoint.Kind.choices)
    # As written by the caller: "(415) 555-0100", "+44 20 …", "Ann@Example.org".
    value = serializers.CharField(max_length=320)
    label = serializers.ChoiceField(
        choices=ContactPoint.Label.choices, default=ContactPoint.Label.OTHER
    )
    extension = serializers.CharField(max_length=20, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(default=False)
    region = serializers.CharField(
        max_length=2,
        required=False,
        help_text="ISO 3166 region to read a national phone number in (default: the server's).",
    )


class ContactPointUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    value = serializers.CharField(max_length=320, required=False)
    label = serializers.ChoiceField(choices=ContactPoint.Label.choices, required=False)
    extension = serializers.CharField(max_length=20, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(
        required=False, help_text="true makes this the primary of its kind (demoting the other)."
    )
    region = serializers.CharField(max_length=2, required=False)


class ConsentSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    recorded_by = serializers.StringRelatedField()

    class Meta:
        model = ConsentRecord
        fields = ["id", "channel", "status", "method", "note", "recorded_at", "recorded_by"]
        read_only_fields = ["id", "recorded_at", "recorded_by"]


class FactSerializer(serializers.ModelSerializer):
    recorded_by = serializers.StringRelatedField()

    class Meta:
        model = ProfileFact
        fields = [
            "id",
            "category",
            "text",
            "is_pinned",
            "recorded_by",
            "recorded_at",
            "origin_interaction_id",
            "updated_at",
        ]
        read_only_fields = ["id", "recorded_by", "recorded_at", "updated_at"]


class FactWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    category = serializers.ChoiceField(choices=ProfileFact.Category.choices, required=False)
    text = serializers.CharField(max_length=FACT_TEXT_MAX_LENGTH)  # optional on PATCH
    is_pinned = serializers.BooleanField(required=False)
    origin_interaction_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class FactRevisionSerializer(serializers.ModelSerializer):
    changed_by = serializers.StringRelatedField()

    class Meta:
        model = ProfileFactRevision
        fields = ["action", "category", "text", "is_pinned", "changed_by", "changed_at"]


class ConsentStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["granted", "withdrawn", "unknown"])
    method = serializers.CharField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)
    recorded_by = serializers.CharField(allow_null=True)


PROFILE_FIELDS = [
    "full_name",
    "preferred_name",
    "pronunciation",
    "pronouns",
    "time_zone",
    "preferred_language",
    "preferred_channel",
    "quiet_hours_start",
    "quiet_hours_end",
    "accessibility_needs",
    "organisation",
    "organisation_role",
    "owner",
]


class CustomerSerializer(serializers.ModelSerializer):
    contact_points = ContactPointSerializer(many=True, read_only=True)
    quiet_hours_start = LocalTimeField(read_only=True, allow_null=True)
    quiet_hours_end = LocalTimeField(read_only=True, allow_null=True)
    # Declared so the schema's enum admits "" (no preference) on a read-only field.
    preferred_channel = serializers.ChoiceField(
        choices=Customer.Channel.choices, allow_blank=True, read_only=True
    )
    tags = serializers.SerializerMethodField()
    consent = serializers.SerializerMethodField()
    local_time = serializers.SerializerMethodField()
    is_quiet_now = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            *PROFILE_FIELDS,
            "tags",
            "consent",
            "contact_points",
            "local_time",
            "is_quiet_now",
            "last_activity_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, customer: Customer) -> list[str]:
        return [tag.name for tag in customer.tags.all()]

    @extend_schema_field(serializers.DictField(child=ConsentStateSerializer()))
    def get_consent(self, customer: Customer) -> dict:
        return {
            state.channel: {
                "status": state.status,
                "method": state.record.method if state.record else None,
                "recorded_at": state.record.recorded_at if state.record else None,
                "recorded_by": str(state.record.recorded_by)
                if state.record and state.record.recorded_by
                else None,
            }
            for state in selectors.customer_consents(customer)
        }

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_local_time(self, customer: Customer) -> str:
        return selectors.customer_local_time(customer, now=timezone.now()).isoformat()

    def get_is_quiet_now(self, customer: Customer) -> bool:
        return selectors.customer_is_in_quiet_hours(customer, now=timezone.now())


class CustomerDetailSerializer(CustomerSerializer):
    facts = serializers.SerializerMethodField()

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "facts"]
        read_only_fields = fields

    @extend_schema_field(FactSerializer(many=True))
    def get_facts(self, customer: Customer) -> list[dict]:
        return FactSerializer(customer.live_facts, many=True).data


class TagNamesField(serializers.ListField):
    """Tag names in; tag names out, also from a customer's `tags` manager (the
    browsable API renders the write form from the instance)."""

    def to_representation(self, data):
        if hasattr(data, "all"):
            data = [tag.name for tag in data.all()]
        return super().to_representation(data)


class CustomerWriteSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """Profile fields as sent; validated again (time zone, language...) by the service."""

    tags = TagNamesField(child=serializers.CharField(max_length=40), required=False, max_length=50)
    contact_points = ContactPointCreateSerializer(
        many=True, required=False, help_text="Only on create; later use the nested resource."
    )
    quiet_hours_start = LocalTimeField(required=False, allow_null=True)
    quiet_hours_end = LocalTimeField(required=False, allow_null=True)

    class Meta:
        model = Customer
        fields = [*PROFILE_FIELDS, "tags", "contact_points"]
        extra_kwargs = {
            # The service validates these (and names the field on error); the
            # serializer must not pre-empt with a different message.
            "time_zone": {"validators": []},
            "preferred_language": {"validators": []},
        }


class MergeSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    source = serializers.IntegerField(
        help_text="Id of the duplicate to fold into the customer in the URL (the survivor)."
    )


class CustomerMergeResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.IntegerField(source="source_id")
    target = serializers.IntegerField(source="target_id")
    merged_at = serializers.DateTimeField()
    moved = serializers.DictField()


class DuplicateCandidateSerializer(serializers.Serializer):
    customer = CustomerSerializer()
    reasons = serializers.ListField(child=serializers.CharField())
    score = serializers.FloatField()


class DuplicateGroupSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    customers = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_customers(self, group) -> list[dict]:
        return [
            {"id": customer.pk, "full_name": customer.full_name} for customer in group.customers
        ]
