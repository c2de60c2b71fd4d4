"""Settings and URLs for the sync benchmark's gunicorn: the project plus one bare endpoint.

The baseline endpoint is a plain DRF view doing one indexed query, served by
the same gunicorn with the same settings as the measured endpoints.
"""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import Customer


class BareIndexedView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request):
        customer = Customer.objects.filter(pk=request.data.get("id", 1)).values("pk").first()
        return Response({"found": customer is not None}, status=201)


class BareAuthenticatedView(APIView):
    """The same one query behind the project's default DRF authentication (Bearer),
    scope permission and per-client throttle: what every API endpoint pays first."""

    required_scopes = {"POST": ["interactions:write"]}

    def post(self, request):
        customer = Customer.objects.filter(pk=request.data.get("id", 1)).values("pk").first()
        return Response({"found": customer is not None}, status=201)


urlpatterns = [
    path("bench/bare/", BareIndexedView.as_view()),
    path("bench/bare-authenticated/", BareAuthenticatedView.as_view()),
    path("", include("config.urls")),
]
