"""Interaction API shapes. Parsing only: writes go through interactions.services."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializer_fields import PrototypeFieldsMixin, RejectUnknownFieldsMixin
from crm.fields import CustomerIdField
from crm.models import Team
from interactions.models import (
    SENTIMENT_MAX,
    SENTIMENT_MIN,
    Feedback,
    Interaction,
    InteractionCategory,
    Matter,
)


class CategorySlugField(serializers.SlugRelatedField):
    """A slug the database can look up: PostgreSQL text cannot hold NUL, and the
    lookup would fail with a 500 instead of naming the field."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class FeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = ["score", "comment", "created_at"]


class InteractionSerializer(PrototypeFieldsMixin, serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Null for an unmatched caller or sender."
    )
    rep = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    rep_name = serializers.SerializerMethodField()
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    category = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Category slug."
    )
    matter = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    matter_status = serializers.SerializerMethodField()
    outcome = serializers.ChoiceField(
        choices=Interaction.Outcome.choices, allow_blank=True, read_only=True
    )
    recording_url = serializers.CharField(read_only=True, help_text="A URL, or empty.")
    notes = serializers.CharField(
        source="summary", read_only=True, help_text="Same as summary: the rep's notes."
    )
    feedback = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "channel",
            "direction",
            "occurred_at",
            "duration_seconds",
            "rep",
            "rep_name",
            "team",
            "subject",
            "summary",
            "notes",
            "outcome",
            "category",
            "sentiment",
            "matter",
            "matter_status",
            "is_repeat_contact",
            "from_number",
            "to_number",
            "recording_url",
            "disposition",
            "email_message_id",
            "email_in_reply_to",
            "email_references",
            "email_from",
            "email_to",
            "email_cc",
            "attachments",
            "location",
            "source",
            "external_id",
            "feedback",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_rep_name(self, obj: Interaction) -> str:
        if obj.rep is None:
            return ""
        return obj.rep.get_full_name() or obj.rep.get_username()

    @extend_schema_field(serializers.ChoiceField(choices=Matter.Status.choices, allow_null=True))
    def get_matter_status(self, obj: Interaction) -> str | None:
        return obj.matter.status if obj.matter_id else None

    @extend_schema_field(FeedbackSerializer(allow_null=True))
    def get_feedback(self, obj: Interaction) -> dict | None:
        try:
            feedback = obj.feedback
        except Feedback.DoesNotExist:
            return None
        return FeedbackSerializer(feedback).data


class InteractionWriteSerializer(
    RejectUnknownFieldsMixin, PrototypeFieldsMixin, serializers.Serializer
):
    """Create (all required fields) or update (partial). Unknown fields are refused."""

    customer = CustomerIdField()
    channel = serializers.ChoiceField(choices=Interaction.Channel.choices)
    direction = serializers.ChoiceField(choices=Interaction.Direction.choices)
    occurred_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(required=False, help_text="Sets the duration.")
    duration_seconds = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    rep = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    subject = serializers.CharField(required=False, allow_blank=True, max_length=255)
    summary = serializers.CharField(
        required=False, allow_blank=True, max_length=20000, help_text="The rep's notes."
    )
    outcome = serializers.ChoiceField(
        choices=Interaction.Outcome.choices, required=False, allow_blank=True
    )
    category = CategorySlugField(
        slug_field="slug",
        queryset=InteractionCategory.objects.all(),
        required=False,
        allow_null=True,
    )
    sentiment = serializers.IntegerField(
        required=False, allow_null=True, min_value=SENTIMENT_MIN, max_value=SENTIMENT_MAX
    )
    from_number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    to_number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    recording_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    disposition = serializers.CharField(required=False, allow_blank=True, max_length=32)
    location = serializers.CharField(required=False, allow_blank=True, max_length=255)
    email_from = serializers.CharField(required=False, allow_blank=True, max_length=998)
    email_to = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    email_cc = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    source = serializers.CharField(required=False, max_length=64)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=255)


class InteractionUpdateSerializer(InteractionWriteSerializer):
    """PUT and PATCH: any of the fields, each optional; who, when it ended, where it
    came from and an e-mail's addresses are fixed once logged (sending them is an
    unknown-field 400; interactions.services.INTERACTION_EDITABLE_FIELDS)."""

    customer = None
    ended_at = None
    source = None
    external_id = None
    email_from = None
    email_to = None
    email_cc = None
    channel = serializers.ChoiceField(choices=Interaction.Channel.choices, required=False)
    direction = serializers.ChoiceField(choices=Interaction.Direction.choices, required=False)
    occurred_at = serializers.DateTimeField(required=False)


class EmailIngestResponseSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False: a re-delivery of a logged message.")
    interaction = InteractionSerializer()


class TimelineResponseSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = InteractionSerializer(many=True)
