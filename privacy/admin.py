"""Admin actions on customers for data subject requests: export as JSON, erase.

The customer admin is registered by crm, which may not import followups; the
actions are attached here, from the top app, to the registered ModelAdmin.
Both call the services, which check the admin role and write the audit entry.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from crm.access import is_admin
from crm.models import Customer
from privacy import services as dsr_services


@admin.action(description="Export all data held about the selected customers (JSON)")
def export_customers(modeladmin, request, queryset):
    if not is_admin(request.user):
        raise PermissionDenied
    documents = [
        dsr_services.customer_export(customer=customer, actor=request.user)
        for customer in queryset.order_by("pk")
    ]
    body = documents[0] if len(documents) == 1 else {"customers": documents}
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    name = f"customer-{documents[0]['customer_id']}" if len(documents) == 1 else "customers"
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    response["Cache-Control"] = "no-store"
    return response


@admin.action(description="Erase the selected customers (anonymise; cannot be undone)")
def erase_customers(modeladmin, request, queryset):
    if not is_admin(request.user):
        raise PermissionDenied
    customers = list(queryset.order_by("pk"))
    if request.POST.get("confirm_erase") == "yes":
        for customer in customers:
            dsr_services.customer_erase(customer=customer, actor=request.user)
        modeladmin.message_user(
            request, f"Erased {len(customers)} customer(s).", level=messages.SUCCESS
        )
        return None
    previews = [
        (customer, dsr_services.customer_erasure_preview(customer=customer))
        for customer in customers
    ]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Erase customers",
        "opts": modeladmin.model._meta,
        "previews": previews,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "privacy/admin/customer_erase_confirm.html", context)


def attach_customer_actions() -> None:
    customer_admin = admin.site._registry.get(Customer)
    if customer_admin is None:  # crm's admin not loaded: nothing to extend
        return
    current = list(customer_admin.actions or [])
    for action in (export_customers, erase_customers):
        if action not in current:
            current.append(action)
    customer_admin.actions = current


attach_customer_actions()
