from django.contrib import admin

from followups.models import FollowUp


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = [
        "action",
        "customer",
        "owner",
        "due_at",
        "status",
        "is_overdue",
        "escalation_level",
    ]
    list_filter = ["status", "is_overdue", "escalation_level", "team"]
    list_select_related = ["customer", "owner"]
    raw_id_fields = ["customer", "owner", "origin_interaction"]
    date_hierarchy = "due_at"


import followups.dsr_admin  # noqa: E402,F401 - DSR export/erase actions on the customer admin (H6)
