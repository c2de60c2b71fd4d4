from django.contrib import admin

from crm.models import ContactPoint, Customer, Team, TeamMembership


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "holiday_country"]
    search_fields = ["name"]
    inlines = [TeamMembershipInline]


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["full_name", "preferred_name", "time_zone", "preferred_channel", "owner"]
    search_fields = ["full_name", "preferred_name", "contact_points__value"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "merged_into"]
    inlines = [ContactPointInline]

import crm.api_client_admin  # noqa: E402,F401 - registers the API client admin (H4)
import crm.audit_admin  # noqa: E402,F401 - registers the read-only audit trail (H6)
