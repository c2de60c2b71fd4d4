"""django-filter filters reading query parameters as the schema types them (core.query)."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from core.query import MAX_ID, in_utc
from core.schema import ID


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter compared in UTC (in_utc)."""

    def filter(self, qs, value):
        return super().filter(qs, in_utc(value, self.field_name) if value is not None else value)


@extend_schema_field(ID)
class IdFilter(filters.Filter):
    """A row id (1 or more): `?customer=abc`, `?customer=1.5` or `?customer=0` is a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictFilterSet(filters.FilterSet):
    """A typed filter given empty (`?channel=`) is a 400 naming it, not "no filter"."""

    def is_valid(self) -> bool:
        is_valid = super().is_valid()
        for name, value in self.data.items():
            filter_ = self.filters.get(name)
            if value == "" and filter_ is not None and not isinstance(filter_, filters.CharFilter):
                self.form.add_error(name, "Give a value or leave the parameter out.")
                is_valid = False
        return is_valid
