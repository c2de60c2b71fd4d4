from django.contrib import admin

from interactions import services
from interactions.models import Feedback, Interaction, InteractionCategory, Matter


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
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
    list_filter = ["channel", "direction", "outcome", "category", "is_repeat_contact", "source"]
    list_select_related = ["customer", "rep", "category"]
    raw_id_fields = ["customer", "rep", "matter"]
    date_hierarchy = "occurred_at"
    search_fields = ["subject", "external_id", "email_message_id"]


@admin.register(InteractionCategory)
class InteractionCategoryAdmin(admin.ModelAdmin):
    """Admins add categories here; the six seeded ones are plain rows too."""

    list_display = ["name", "slug", "is_active", "position"]
    list_editable = ["is_active", "position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(Matter)
class MatterAdmin(admin.ModelAdmin):
    list_display = ["pk", "customer", "category", "status", "contact_count", "opened_at"]
    list_filter = ["status", "category"]
    list_select_related = ["customer", "category"]
    raw_id_fields = ["customer", "first_interaction"]
    readonly_fields = ["contact_count", "opened_at", "last_contact_at", "resolved_at"]
    actions = ["resolve", "reopen"]

    @admin.action(description="Mark resolved")
    def resolve(self, request, queryset):
        for matter in queryset.order_by("pk"):
            services.matter_resolve(matter=matter)

    @admin.action(description="Reopen")
    def reopen(self, request, queryset):
        for matter in queryset.order_by("pk"):
            services.matter_reopen(matter=matter)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["interaction", "score", "created_at"]
    raw_id_fields = ["interaction", "matter"]
    list_filter = ["score"]


import interactions.integrations_admin  # noqa: E402,F401 - Twilio/Asterisk admin (H4)
