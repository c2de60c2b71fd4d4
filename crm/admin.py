from django.contrib import admin

from core.admin_lists import BigTableAdminMixin
from core.service_admin import ServiceModelAdmin, adopt_saved, service_call
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
from crm.services import (
    CUSTOMER_EDITABLE_FIELDS,
    TEAM_EDITABLE_FIELDS,
    customer_create,
    customer_update,
    team_create,
    team_member_add,
    team_member_remove,
    team_update,
)


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(ServiceModelAdmin):
    """Teams and their members through crm.services (validated, audited)."""

    list_display = ["name", "time_zone", "holiday_country"]
    search_fields = ["name"]
    fields = list(TEAM_EDITABLE_FIELDS)
    inlines = [TeamMembershipInline]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name] for name in form.changed_data if name in TEAM_EDITABLE_FIELDS
            }
            if changes:
                service_call(team_update, team=obj, changes=changes, actor=request.user)
            return
        team = service_call(
            team_create, **{name: data[name] for name in TEAM_EDITABLE_FIELDS}, actor=request.user
        )
        adopt_saved(obj, team)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not TeamMembership:
            super().save_formset(request, form, formset, change)
            return
        team = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk is not None:
                service_call(
                    team_member_remove, membership=inline_form.instance, actor=request.user
                )
                formset.deleted_objects.append(inline_form.instance)
        for inline_form in formset.initial_forms + formset.extra_forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            if inline_form.instance.pk is not None and "user" in inline_form.changed_data:
                # Another person on the same row: the old member leaves.
                previous = TeamMembership.objects.get(pk=inline_form.instance.pk)
                service_call(team_member_remove, membership=previous, actor=request.user)
            membership = service_call(
                team_member_add, team=team, user=data["user"], role=data["role"], actor=request.user
            )
            if inline_form in formset.extra_forms:
                formset.new_objects.append(membership)
            else:
                formset.changed_objects.append((membership, inline_form.changed_data))


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
class CustomerAdmin(BigTableAdminMixin, ServiceModelAdmin):
    """Through crm.services, so the admin gets the same validation, normalisation
    (language tags) and audit entry as the page and the API. Customers are not
    deleted here: erasure (the data-subject action) anonymises them."""

    list_display = ["full_name", "preferred_name", "time_zone", "preferred_channel", "owner"]
    list_filter = ["preferred_channel", "tags"]
    search_fields = ["search_name", "contact_points__value"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["merged_into", "last_activity_at", "created_at", "updated_at"]
    filter_horizontal = ["tags"]
    inlines = [ContactPointInline, ConsentRecordInline, ProfileFactInline]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        tags = [tag.name for tag in data.get("tags", [])]
        if change:
            tags = tags if "tags" in form.changed_data else None
            changes = {
                name: data[name] for name in form.changed_data if name in CUSTOMER_EDITABLE_FIELDS
            }
            if not changes and tags is None:
                return
            service_call(
                customer_update, customer=obj, changes=changes, tags=tags, actor=request.user
            )
            return
        created = service_call(
            customer_create,
            **{name: data[name] for name in CUSTOMER_EDITABLE_FIELDS if name in data},
            tags=tags,
            actor=request.user,
        )
        adopt_saved(obj, created)


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
