from django.contrib import admin

from crm.models import (
    ConsentRecord,
    ContactPoint,
    Customer,
    CustomerMerge,
    ProfileFact,
    Tag,
    Team,
    TeamMembership,
)
from crm.services import CUSTOMER_EDITABLE_FIELDS, customer_create, customer_update


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "holiday_country"]
    search_fields = ["name"]
    inlines = [TeamMembershipInline]


class ReadOnlyInline(admin.TabularInline):
    """Shown for context; changes go through the customer page or API, whose
    services normalise, validate and keep history."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ContactPointInline(ReadOnlyInline):
    model = ContactPoint
    fields = ["kind", "label", "value", "extension", "is_primary", "created_at"]
    readonly_fields = fields


class ProfileFactInline(ReadOnlyInline):
    model = ProfileFact
    fields = ["category", "text", "is_pinned", "recorded_by", "recorded_at", "deleted_at"]
    readonly_fields = fields


class ConsentRecordInline(ReadOnlyInline):
    model = ConsentRecord
    fields = ["channel", "status", "method", "note", "recorded_by", "recorded_at"]
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["full_name", "preferred_name", "time_zone", "preferred_channel", "owner"]
    list_filter = ["preferred_channel", "tags"]
    search_fields = ["search_name", "contact_points__value"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "merged_into"]
    readonly_fields = ["merged_into", "last_activity_at", "created_at", "updated_at"]
    filter_horizontal = ["tags"]
    inlines = [ContactPointInline, ConsentRecordInline, ProfileFactInline]

    def save_model(self, request, obj, form, change) -> None:
        # Through the services, so the admin gets the same validation,
        # normalisation (language tags) and audit entry as the page and the API.
        data = form.cleaned_data
        tags = [tag.name for tag in data.get("tags", [])]
        if change:
            tags = tags if "tags" in form.changed_data else None
            changes = {
                name: data[name] for name in form.changed_data if name in CUSTOMER_EDITABLE_FIELDS
            }
            customer_update(customer=obj, changes=changes, tags=tags, actor=request.user)
            return
        created = customer_create(
            **{name: data[name] for name in CUSTOMER_EDITABLE_FIELDS if name in data},
            tags=tags,
            actor=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    list_display = ["merged_at", "source", "target", "actor"]
    list_select_related = ["source", "target", "actor"]
    readonly_fields = ["source", "target", "actor", "merged_at", "moved"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
