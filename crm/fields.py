"""Customer fields for serializers of every app."""

import re
from datetime import time

from drf_spectacular.utils import extend_schema_field
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


LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": LOCAL_TIME_PATTERN,
        "example": "21:00",
        "description": "Wall-clock time in the customer's time zone: HH:MM or HH:MM:SS, no offset.",
    }
)
class LocalTimeField(serializers.TimeField):
    """A time of day on the customer's clock (quiet hours). ISO 8601's `time` format
    carries an offset; this has none, and one sent is refused rather than dropped
    (Python's reader would also take "0755" or "07")."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.match(LOCAL_TIME_PATTERN, value):
            raise serializers.ValidationError(
                "Use HH:MM or HH:MM:SS, the customer's local time (no offset)."
            )
        return time.fromisoformat(value)
