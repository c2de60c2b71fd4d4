"""Follow-up API shapes: parse and render only; services do the work."""

from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from rest_framework import serializers

from core.serializer_fields import RejectUnknownFieldsMixin
from crm.models import Customer, Team
from followups.models import FollowUp, FollowUpEvent, Priority
from interactions.models import Interaction

User = get_user_model()


class FollowUpEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = FollowUpEvent
        fields = ["kind", "level", "cycle", "occurred_at", "scheduled_at", "actor", "details"]


class FollowUpSerializer(serializers.ModelSerializer):
    owner = serializers.IntegerField(source="owner_id")
    owner_username = serializers.CharField(source="owner.username")
    team = serializers.IntegerField(source="team_id", allow_null=True)
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.display_name")
    due_at_customer_local = serializers.SerializerMethodField(
        help_text="due_at in the customer's time zone (ISO 8601 with offset)."
    )
    due_at_team_local = serializers.SerializerMethodField(
        help_text="due_at in the team's time zone, the rep's clock."
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer",
            "customer_name",
            "origin_interaction",
            "owner",
            "owner_username",
            "team",
            "action",
            "channel",
            "priority",
            "status",
            "due_phrase",
            "due_at",
            "original_due_at",
            "due_at_customer_local",
            "due_at_team_local",
            "is_reminded",
            "is_overdue",
            "escalation_level",
            "next_action_at",
            "renegotiation_count",
            "completed_at",
            "completed_by",
            "completion_note",
            "kept_by_interaction",
            "is_kept_on_time",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]

    def get_due_at_customer_local(self, followup: FollowUp) -> str:
        return followup.due_at.astimezone(ZoneInfo(followup.customer.time_zone)).isoformat()

    def get_due_at_team_local(self, followup: FollowUp) -> str:
        zone = followup.team.time_zone if followup.team else "UTC"
        return followup.due_at.astimezone(ZoneInfo(zone)).isoformat()


class FollowUpDetailSerializer(FollowUpSerializer):
    events = FollowUpEventSerializer(many=True, read_only=True)

    class Meta(FollowUpSerializer.Meta):
        fields = [*FollowUpSerializer.Meta.fields, "events"]


class FollowUpCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    action = serializers.CharField(max_length=500)
    due_at = serializers.DateTimeField(required=False)
    due_phrase = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text='Instead of due_at: "in 2 hours", "end of today", "tomorrow morning", '
        '"by Friday", "within 4 business hours", "within 2 business days".',
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False
    )
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    origin_interaction = serializers.PrimaryKeyRelatedField(
        queryset=Interaction.objects.all(), required=False
    )
    channel = serializers.ChoiceField(
        choices=FollowUp.Channel.choices, required=False, allow_blank=True
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)

    def validate_action(self, value: str) -> str:
        if "\x00" in value or not value.strip():
            raise serializers.ValidationError("Say what was promised.")
        return value

    def validate_due_phrase(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Invalid characters.")
        return value

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("due_at") and not attrs.get("due_phrase", "").strip():
            raise serializers.ValidationError({"due_at": ["Give due_at or due_phrase."]})
        interaction = attrs.get("origin_interaction")
        if interaction is not None and interaction.customer_id != attrs["customer"].pk:
            raise serializers.ValidationError(
                {"origin_interaction": ["The interaction must be with this customer."]}
            )
        return attrs


class CompleteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    interaction = serializers.PrimaryKeyRelatedField(
        queryset=Interaction.objects.all(),
        required=False,
        allow_null=True,
        help_text="The logged interaction with the customer that kept the promise.",
    )


class ReassignSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RenegotiateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    due_at = serializers.DateTimeField(required=False)
    due_phrase = serializers.CharField(max_length=100, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("due_at") and not attrs.get("due_phrase", "").strip():
            raise serializers.ValidationError({"due_at": ["Give due_at or due_phrase."]})
        return attrs


class CancelSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=500)

    def validate_reason(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Say why the promise is cancelled.")
        return value
