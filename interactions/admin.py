from django.contrib import admin
from django.db import models

from core.admin_lists import BigTableAdminMixin, values_filter
from core.service_admin import ServiceModelAdmin, adopt_saved, service_call
from interactions import attribution, matters, services
from interactions.models import (
    FEEDBACK_SCORE_MAX,
    FEEDBACK_SCORE_MIN,
    Feedback,
    Interaction,
    InteractionCategory,
    Matter,
)

# What an admin gives when logging a contact by hand (interaction_log's arguments).
INTERACTION_ADD_FIELDS = [
    "customer",
    "channel",
    "direction",
    "occurred_at",
    "duration_seconds",
    "rep",
    "team",
    "category",
    "outcome",
    "subject",
    "summary",
    "sentiment",
    "from_number",
    "to_number",
    "recording_url",
    "disposition",
    "location",
    "source",
    "external_id",
]
INTERACTION_CHANGE_FIELDS = [
    "customer",
    "source",
    "external_id",
    *[name for name in INTERACTION_ADD_FIELDS if name in services.INTERACTION_EDITABLE_FIELDS],
    "matter",
    "is_repeat_contact",
    "email_message_id",
    "email_from",
    "email_to",
    "email_cc",
    "created_at",
    "updated_at",
]
INTERACTION_CHANGE_READ_ONLY = [
    name
    for name in INTERACTION_CHANGE_FIELDS
    if name not in services.INTERACTION_EDITABLE_FIELDS and name != "matter"
]


@admin.register(Interaction)
class InteractionAdmin(BigTableAdminMixin, ServiceModelAdmin):
    """Logged and changed through interactions.services: the same validation, matter
    rule and counters as the log form and the API. Not deleted here."""

    list_display = [
        "occurred_at",
        "customer",
        "channel",
        "direction",
        "rep",
        "category",
        "outcome",
        "is_repeat_contact",
        "source",
    ]
    # Dates by DateFieldListFilter, not a date hierarchy, and no filter on the free-text
    # source (search it): both found their choices with a DISTINCT over every row
    # (core.admin_lists).
    list_filter = [
        "channel",
        "direction",
        "outcome",
        "category",
        "is_repeat_contact",
        ("occurred_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["customer", "rep", "category"]
    raw_id_fields = ["customer", "rep", "matter"]
    search_fields = ["subject", "external_id", "email_message_id", "=source"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fields(self, request, obj=None):
        return INTERACTION_CHANGE_FIELDS if obj is not None else INTERACTION_ADD_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return INTERACTION_CHANGE_READ_ONLY if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if not change:
            logged = service_call(  # attributed by the admin: audited (interactions.attribution)
                attribution.interaction_log_attributed,
                actor=request.user,
                **{name: data[name] for name in INTERACTION_ADD_FIELDS if name in data},
            )
            adopt_saved(obj, logged)
            return
        # The form has already set its values on `obj`; the services compare
        # with the row as stored (old category, old matter).
        stored = Interaction.objects.get(pk=obj.pk)
        changes = {
            name: data[name]
            for name in form.changed_data
            if name in services.INTERACTION_EDITABLE_FIELDS
        }
        if changes:
            stored = service_call(
                attribution.interaction_update_attributed,
                actor=request.user,
                interaction=stored,
                changes=changes,
            )
        if "matter" in form.changed_data:
            if data["matter"] is None:
                stored = service_call(matters.interaction_matter_unlink, interaction=stored)
            else:
                stored = service_call(
                    matters.interaction_matter_link, interaction=stored, matter=data["matter"]
                )
        adopt_saved(obj, stored)


@admin.register(InteractionCategory)
class InteractionCategoryAdmin(admin.ModelAdmin):
    """Admins add categories here; the six seeded ones are plain rows too."""

    list_display = ["name", "slug", "is_active", "position"]
    list_editable = ["is_active", "position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(Matter)
class MatterAdmin(BigTableAdminMixin, ServiceModelAdmin):
    """Matters are opened by contacts (never added here); the subject and status
    change through interactions.services, and the counters follow the interactions."""

    list_display = ["pk", "customer", "category", "status", "contact_count", "opened_at"]
    list_filter = ["status", "category"]
    ordering = ["-pk"]  # newest first off the primary key: last contact has no index of its own
    list_select_related = ["customer", "category"]
    fields = [
        "customer",
        "category",
        "subject",
        "status",
        "first_interaction",
        "contact_count",
        "opened_at",
        "last_contact_at",
        "resolved_at",
    ]
    readonly_fields = [name for name in fields if name not in matters.MATTER_EDITABLE_FIELDS]
    actions = ["resolve", "reopen"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in matters.MATTER_EDITABLE_FIELDS
        }
        if changes:
            adopt_saved(obj, service_call(matters.matter_update, matter=obj, changes=changes))

    @admin.action(description="Mark resolved", permissions=["change"])
    def resolve(self, request, queryset):
        for matter in queryset.order_by("pk"):
            matters.matter_resolve(matter=matter)

    @admin.action(description="Reopen", permissions=["change"])
    def reopen(self, request, queryset):
        for matter in queryset.order_by("pk"):
            matters.matter_reopen(matter=matter)


@admin.register(Feedback)
class FeedbackAdmin(BigTableAdminMixin, admin.ModelAdmin):
    """The customers' own answers: read here, never rewritten."""

    list_display = ["interaction", "score", "created_at"]
    list_filter = [
        values_filter(
            "score", "score", [str(s) for s in range(FEEDBACK_SCORE_MIN, FEEDBACK_SCORE_MAX + 1)]
        )
    ]
    ordering = ["-pk"]  # newest first off the primary key (created_at has no index)
    readonly_fields = ["interaction", "matter", "score", "comment", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


import interactions.integrations_admin  # noqa: E402,F401 - Twilio/Asterisk admin (H4)
