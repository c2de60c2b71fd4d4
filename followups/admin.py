"""Admin: policies and calendars are edited here; promises change through services."""

from django.contrib import admin, messages
from django.db import transaction

from followups.models import (
    BusinessHours,
    Closure,
    EscalationPolicy,
    FollowUp,
    FollowUpEvent,
    Notification,
)


class FollowUpEventInline(admin.TabularInline):
    model = FollowUpEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "kind", "level", "cycle", "actor", "details"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    """Read-only: every change to a promise is a use case with an event
    (services.py); editing fields here would skip the history and the schedule."""

    list_display = [
        "action",
        "customer",
        "owner",
        "team",
        "due_at",
        "priority",
        "status",
        "is_overdue",
        "escalation_level",
    ]
    list_filter = ["status", "priority", "is_overdue", "escalation_level", "team"]
    list_select_related = ["customer", "owner", "team"]
    raw_id_fields = ["customer", "owner", "origin_interaction", "kept_by_interaction"]
    date_hierarchy = "due_at"
    inlines = [FollowUpEventInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class TeamScheduleAdmin(admin.ModelAdmin):
    """A team's policy and calendar set its promises' reminder and escalation
    times: after a change the open ones are rescheduled (by the worker)."""

    def _reschedule(self, request, team_id: int) -> None:
        from followups.tasks import team_schedules_recompute

        transaction.on_commit(lambda: team_schedules_recompute.delay(team_id), robust=True)
        self.message_user(
            request,
            "The team's open promises are being rescheduled to match.",
            messages.INFO,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._reschedule(request, obj.team_id)

    def delete_model(self, request, obj):
        team_id = obj.team_id
        super().delete_model(request, obj)
        self._reschedule(request, team_id)

    def delete_queryset(self, request, queryset):
        team_ids = sorted(set(queryset.values_list("team_id", flat=True)))
        super().delete_queryset(request, queryset)
        for team_id in team_ids:
            self._reschedule(request, team_id)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TeamScheduleAdmin):
    list_display = [
        "team",
        "reminder_lead_minutes",
        "escalate_1_after_business_minutes",
        "escalate_2_after_business_minutes",
        "high_priority_percent",
        "urgent_priority_percent",
    ]
    list_select_related = ["team"]


@admin.register(BusinessHours)
class BusinessHoursAdmin(TeamScheduleAdmin):
    list_display = ["team", "weekday", "opens_at", "closes_at"]
    list_filter = ["team", "weekday"]


@admin.register(Closure)
class ClosureAdmin(TeamScheduleAdmin):
    list_display = ["team", "date", "reason"]
    list_filter = ["team"]
    date_hierarchy = "date"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "recipient",
        "channel",
        "kind",
        "level",
        "delivery_status",
        "attempts",
        "read_at",
    ]
    list_filter = ["channel", "kind", "delivery_status"]
    raw_id_fields = ["recipient", "followup", "event"]
    readonly_fields = ["message_key"]

    def has_add_permission(self, request) -> bool:
        return False


import followups.dsr_admin  # noqa: E402,F401 - DSR export/erase actions on the customer admin (H6)
from followups import webhook_admin  # noqa: E402, F401  (webhook endpoints and deliveries)
