"""Customer fields for serializers of every app."""

from rest_framework import serializers

from crm.models import Customer
from crm.selectors import customer_by_id


class CustomerIdField(serializers.PrimaryKeyRelatedField):
    """A customer by id, read with crm.selectors' fixed SQL (every API create names one).

    Answers like DRF's PrimaryKeyRelatedField: the customer as it is (a merged
    one too; the view resolves survivors), or `does_not_exist` / `incorrect_type`.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Customer.objects.all())  # the schema and the browsable API
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            customer_id = int(data)
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        customer = customer_by_id(customer_id=customer_id)
        if customer is None:
            self.fail("does_not_exist", pk_value=data)
        return customer
