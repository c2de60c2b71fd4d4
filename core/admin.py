"""Admin for API clients: creating, changing, revoking and rotating go through
core.services. A new secret is shown once in the admin message. Idempotency
records are browse-only."""

from django import forms
from django.contrib import admin, messages

from core.models import ApiClient, IdempotencyRecord
from core.service_admin import ReadOnlyAdminMixin, ServiceModelAdmin, adopt_saved, service_call
from core.services import (
    API_CLIENT_EDITABLE_FIELDS,
    api_client_create,
    api_client_revoke,
    api_client_rotate,
    api_client_update,
)


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiClient.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "creates_unmatched_customers", "rate_limit"]


@admin.register(ApiClient)
class ApiClientAdmin(ServiceModelAdmin):
    form = ApiClientForm
    list_display = ["name", "prefix", "scopes", "is_active", "last_used_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "is_active", "revoked_at", "last_used_at", "created_at"]
    actions = ["revoke_selected", "rotate_selected"]

    def save_model(self, request, obj, form, change):
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in API_CLIENT_EDITABLE_FIELDS
            }
            if changes:
                updated = service_call(
                    api_client_update,
                    client=obj,
                    changes=changes,
                    actor=request.user,
                    request=request,
                )
                adopt_saved(obj, updated)
            return
        issued = service_call(
            api_client_create,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            creates_unmatched_customers=form.cleaned_data["creates_unmatched_customers"],
            rate_limit=form.cleaned_data["rate_limit"],
            actor=request.user,
            request=request,
        )
        adopt_saved(obj, issued.client)
        messages.warning(request, f"Secret for {issued.client.name} (shown once): {issued.secret}")

    @admin.action(description="Revoke selected API clients")
    def revoke_selected(self, request, queryset):
        for client in queryset:
            api_client_revoke(client=client, actor=request.user, request=request)
        messages.success(request, f"Revoked {queryset.count()} client(s).")

    @admin.action(description="Rotate secrets of selected API clients")
    def rotate_selected(self, request, queryset):
        for client in queryset:
            issued = api_client_rotate(client=client, actor=request.user, request=request)
            messages.warning(request, f"New secret for {client.name} (shown once): {issued.secret}")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Replay answers the API keeps for 24 h: internal, so browse only."""

    list_display = ["scope", "key", "response_status", "created_at"]
    search_fields = ["key"]
    readonly_fields = [
        "scope",
        "key",
        "fingerprint",
        "response_status",
        "response_body",
        "created_at",
    ]


from core import audit_admin  # noqa: E402,F401 - registers the read-only audit trail
