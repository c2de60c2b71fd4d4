"""Data subject requests over the API: /api/v1/customers/{id}/export/ and /erase/.

Admins only (a logged-in admin session); no API client scope grants them, so
HasScope closes them to every API client. The services check the role again.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializer_fields import RejectUnknownFieldsMixin
from crm.access import require_admin
from crm.models import Customer
from privacy import services as dsr_services

EXPORT_EXAMPLE = {
    "format": dsr_services.EXPORT_FORMAT,
    "exported_at": "2026-11-23T10:00:00+00:00",
    "exported_by": "admin",
    "customer_id": 42,
    "profile": {"id": 42, "full_name": "Jürgen Müller", "preferred_name": "Jürgen"},
    "merged_customers": [],
    "contact_points": [{"id": 7, "kind": "phone", "value": "+14155550100"}],
    "facts": [{"id": 3, "category": "family", "text": "Daughter Mia starts school in May"}],
    "interactions": [{"id": 11, "channel": "phone", "summary": "Asked about the bill."}],
    "followups": [{"id": 5, "action": "Call back with the refund", "status": "open"}],
    "feedback": [],
    "other_records": {},
    "audit_entries": [{"action": "customer.viewed", "actor": "rep_a"}],
}


class EraseRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    confirm = serializers.BooleanField(
        help_text="Must be true: erasure cannot be undone.",
    )

    def validate_confirm(self, value: bool) -> bool:
        if value is not True:
            raise serializers.ValidationError("Set confirm to true to erase this customer.")
        return value


class CustomerExportView(APIView):
    required_scopes: dict = {}  # closed to API clients

    @extend_schema(
        operation_id="customers_export",
        summary="Export everything held about a customer (admins only, audited)",
        responses={
            200: OpenApiResponse(description="One JSON document"),
            403: OpenApiResponse(description="Not an admin"),
            404: OpenApiResponse(description="No such customer"),
        },
        examples=[OpenApiExample("Export", value=EXPORT_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        require_admin(request.user)
        customer = get_object_or_404(Customer, pk=pk)
        document = dsr_services.customer_export(customer=customer, actor=request.user)
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        response["Cache-Control"] = "no-store"
        return response


class CustomerEraseView(APIView):
    required_scopes: dict = {}  # closed to API clients

    @extend_schema(
        operation_id="customers_erase",
        summary="Erase a customer: anonymise every personal field in every app (admins only)",
        request=EraseRequestSerializer,
        responses={
            200: inline_serializer(
                "CustomerErased",
                {"customer_id": serializers.IntegerField(), "records": serializers.DictField()},
            ),
            400: OpenApiResponse(description="confirm missing or not true"),
            403: OpenApiResponse(description="Not an admin"),
            404: OpenApiResponse(description="No such customer"),
        },
        examples=[
            OpenApiExample("Confirm", value={"confirm": True}, request_only=True),
            OpenApiExample(
                "Erased",
                value={
                    "customer_id": 42,
                    "records": {"crm.customer": 1, "interactions.interaction": 3},
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, pk: int):
        require_admin(request.user)
        customer = get_object_or_404(Customer, pk=pk)
        serializer = EraseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        counts = dsr_services.customer_erase(customer=customer, actor=request.user)
        return Response({"customer_id": customer.pk, "records": counts})
