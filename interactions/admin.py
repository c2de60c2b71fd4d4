from django.contrib import admin

from interactions.models import Interaction


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "channel", "direction", "rep", "outcome", "source"]
    list_filter = ["channel", "direction", "outcome", "source"]
    list_select_related = ["customer", "rep"]
    raw_id_fields = ["customer", "rep"]
    date_hierarchy = "occurred_at"

import interactions.integrations_admin  # noqa: E402,F401 - Twilio/Asterisk admin (H4)
