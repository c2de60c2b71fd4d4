"""The audit trail in the admin: browse and filter, never add, change or delete."""

from django.contrib import admin

from core.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "customer_id",
        "ip_address",
    ]
    list_filter = ["action", "target_type", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "=target_id", "=customer_id", "action"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at", "-pk"]
    show_full_result_count = False  # a count(*) over the whole trail on every page is waste
    list_per_page = 100
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    actions = None  # no bulk delete

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        from core.roles import is_admin

        return is_admin(request.user)
