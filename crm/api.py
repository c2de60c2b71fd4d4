from rest_framework import mixins, viewsets

from crm import selectors
from crm.serializers import CustomerSerializer


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer

    def get_queryset(self):
        return selectors.customer_list(
            query=self.request.query_params.get("q", "")
        ).prefetch_related("contact_points")
