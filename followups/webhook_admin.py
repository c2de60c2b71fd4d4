"""Admin for webhook endpoints: register (secret shown once), delivery log, replay, re-enable.

Imported by followups/admin.py. Actions call followups.webhooks services.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from followups import webhooks
from followups.webhook_models import WEBHOOK_EVENT_TYPES, WebhookDelivery, WebhookEndpoint

RECENT_DELIVERIES = 20  # on the endpoint's page; the full log is the filtered list


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
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
        return {"event_types": sorted(set(WEBHOOK_EVENT_TYPES.values()))}

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = webhooks.webhook_endpoint_create(
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
