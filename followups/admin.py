"""Admin: policies and calendars are edited here; promises change through the services."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.service_admin import ReadOnlyAdminMixin, ServiceModelAdmin, adopt_saved, service_call
from crm import admin as crm_admin
from crm.models import Team
from followups import services, webhooks
from followups.models import (
    WEBHOOK_EVENT_TYPE_NAMES,
    BusinessHours,
    Closure,
    EscalationPolicy,
    FollowUp,
    FollowUpEvent,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)

# followup_promise's arguments an admin gives (due_at or due_phrase).
FOLLOWUP_ADD_FIELDS = [
    "customer",
    "owner",
    "team",
    "action",
    "channel",
    "priority",
    "due_at",
    "due_phrase",
]
# Shown on an existing promise, never edited as fields.
FOLLOWUP_SHOWN_FIELDS = [
    "customer",
    "team",
    "action",
    "channel",
    "priority",
    "status",
    "due_phrase",
    "original_due_at",
    "is_overdue",
    "escalation_level",
    "renegotiation_count",
    "origin_interaction",
    "created_by",
    "completed_at",
    "completed_by",
    "completion_note",
    "kept_by_interaction",
    "is_kept_on_time",
    "cancel_reason",
]


class FollowUpEventInline(admin.TabularInline):
    model = FollowUpEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "kind", "level", "cycle", "actor", "details"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class FollowUpAddForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = FOLLOWUP_ADD_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["due_at"].required = False
        self.fields["due_at"].help_text = "Or say when, below."
        self.fields[
            "due_phrase"
        ].help_text = (
            "e.g. 'by Friday', 'tomorrow morning' (in the customer's and the team's clock)."
        )


class FollowUpChangeForm(forms.ModelForm):
    """An open promise is reassigned (owner), renegotiated (due time), kept or
    cancelled; each is a use case with its event, never a field edit."""

    close = forms.ChoiceField(
        choices=[("", "Keep open"), ("done", "Kept (done)"), ("cancelled", "Cancelled")],
        required=False,
        label="Close as",
    )
    reason = forms.CharField(
        max_length=500,
        required=False,
        help_text="Why: kept in the promise's history (required to cancel).",
    )

    class Meta:
        model = FollowUp
        fields = ["owner", "due_at"]


@admin.register(FollowUp)
class FollowUpAdmin(ServiceModelAdmin):
    """Every change to a promise is a use case with an event (followups.services):
    promised, reassigned, renegotiated, kept, cancelled. Closed promises are read-only;
    none is deleted."""

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
    raw_id_fields = ["customer", "owner"]
    date_hierarchy = "due_at"
    inlines = [FollowUpEventInline]

    def get_fields(self, request, obj=None):
        if obj is None:
            return FOLLOWUP_ADD_FIELDS
        if self.has_change_permission(request, obj):
            return ["owner", "due_at", "close", "reason", *FOLLOWUP_SHOWN_FIELDS]
        return ["owner", "due_at", *FOLLOWUP_SHOWN_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else FOLLOWUP_SHOWN_FIELDS

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = FollowUpChangeForm if obj is not None else FollowUpAddForm
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status != FollowUp.Status.OPEN:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if not change:
            promised = service_call(
                services.followup_promise,
                **{name: data[name] for name in FOLLOWUP_ADD_FIELDS},
                created_by=request.user,
            )
            adopt_saved(obj, promised)
            return
        reason = data.get("reason", "")
        if "owner" in form.changed_data:
            service_call(
                services.followup_reassign,
                followup_id=obj.pk,
                new_owner=data["owner"],
                user=request.user,
                reason=reason,
            )
        if "due_at" in form.changed_data:
            service_call(
                services.followup_renegotiate,
                followup_id=obj.pk,
                due_at=data["due_at"],
                user=request.user,
                reason=reason,
            )
        if data.get("close") == FollowUp.Status.DONE:
            service_call(
                services.followup_complete, followup_id=obj.pk, user=request.user, note=reason
            )
        elif data.get("close") == FollowUp.Status.CANCELLED:
            service_call(
                services.followup_cancel, followup_id=obj.pk, user=request.user, reason=reason
            )
        adopt_saved(obj, FollowUp.objects.get(pk=obj.pk))


def _reschedule_team(modeladmin, request, team_id: int) -> None:
    from followups.tasks import team_schedules_recompute

    transaction.on_commit(lambda: team_schedules_recompute.delay(team_id), robust=True)
    modeladmin.message_user(
        request,
        "The team's open promises are being rescheduled to match.",
        messages.INFO,
    )


class TeamScheduleAdmin(admin.ModelAdmin):
    """A team's policy and calendar set its promises' reminder and escalation
    times: after a change the open ones are rescheduled (by the worker)."""

    def _reschedule(self, request, team_id: int) -> None:
        _reschedule_team(self, request, team_id)

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


# A team's time zone and holiday country are its business calendar too: crm's
# team admin saves through crm.services, and here the promises follow the clock.
class TeamAdmin(crm_admin.TeamAdmin):
    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)  # last of the team's saves
        if change and {"time_zone", "holiday_country"} & set(form.changed_data):
            _reschedule_team(self, request, form.instance.pk)


admin.site.unregister(Team)
admin.site.register(Team, TeamAdmin)


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
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox the sweep writes and the delivery tasks drain: browse only."""

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


# --- webhook endpoints and their delivery log ----------------------------------------

RECENT_DELIVERIES = 20  # on the endpoint's page; the full log is the filtered list


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceModelAdmin):
    """Registered, changed, re-enabled and deleted through followups.webhooks, which
    also tells the interaction floor which events to record."""

    list_display = ["url", "api_client", "is_active", "failing_since", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    fields = [
        "url",
        "description",
        "event_types",
        "api_client",
        "is_active",
        "failing_since",
        "delivery_log",
    ]
    readonly_fields = ["failing_since", "delivery_log"]
    actions = ["enable"]

    def get_changeform_initial_data(self, request):
        return {"event_types": WEBHOOK_EVENT_TYPE_NAMES}

    def save_model(self, request, obj, form, change):
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in webhooks.ENDPOINT_EDITABLE_FIELDS
            }
            stored = WebhookEndpoint.objects.get(pk=obj.pk)
            adopt_saved(
                obj,
                service_call(webhooks.webhook_endpoint_update, endpoint=stored, changes=changes),
            )
            return
        issued = service_call(
            webhooks.webhook_endpoint_create,
            url=obj.url,
            event_types=obj.event_types,
            api_client=obj.api_client,
            created_by=request.user,
            description=obj.description,
        )
        obj.pk = issued.endpoint.pk
        obj.secret_encrypted = issued.endpoint.secret_encrypted
        messages.warning(
            request, f"Signing secret (shown once; the receiver verifies with it): {issued.secret}"
        )

    @admin.display(description="Delivery log (newest first)")
    def delivery_log(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.pk is None:
            return "-"
        rows = endpoint.deliveries.order_by("-id")[:RECENT_DELIVERIES]
        table = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    d.webhook_id,
                    d.event_type,
                    d.status,
                    d.attempts,
                    d.last_status_code or "",
                    d.last_error,
                )
                for d in rows
            ),
        )
        full_log = reverse("admin:followups_webhookdelivery_changelist")
        return format_html(
            "<table><tr><th>webhook-id</th><th>event</th><th>status</th><th>attempts</th>"
            '<th>answer</th><th>error</th></tr>{}</table><a href="{}?endpoint__id__exact={}">'
            "Full log, replay</a>",
            table,
            full_log,
            endpoint.pk,
        )

    @admin.action(description="Re-enable (after fixing the receiver)")
    def enable(self, request, queryset):
        for endpoint in queryset:
            webhooks.webhook_endpoint_enable(endpoint=endpoint)

    def has_delete_permission(self, request, obj=None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request, obj) -> None:
        webhooks.webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset) -> None:
        for endpoint in queryset:
            webhooks.webhook_endpoint_delete(endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "endpoint", "event_type", "status", "attempts", "created_at"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["webhook_id"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay (same webhook-id)")
    def replay(self, request, queryset):
        for delivery in queryset:
            webhooks.webhook_delivery_replay(delivery=delivery)
        messages.success(request, f"{queryset.count()} deliveries queued again.")
