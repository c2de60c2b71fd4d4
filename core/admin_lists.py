"""Admin change lists that cost the same at 10 thousand rows and at 10 million.

Django's change list counts the rows that match (its paginator) and then the
whole table again ("N total"); a date hierarchy finds its years with a
DISTINCT over every row, and a filter on a plain text field finds its values
the same way. At 10,000,000 interactions that was 7.6 s a page
(benchmarks/lists.py). Big tables' admins take `BigTableAdminMixin` (the
count of core.pagination, at most COUNT_CAP rows, said so by
admin/pagination.html) and `values_filter` for a text field whose values are
known, and filter dates with Django's DateFieldListFilter, which reads nothing.
"""

from django.contrib import admin
from django.utils.functional import cached_property

from core import pagination


class AdminCountPaginator(pagination.CappedCountPaginator):
    """The admin's change list shows every row at once when its count says they
    fit one page ("Show all" up to list_max_show_all): an estimate, which may be
    far too low, counts as more than the cap, so pages stay pages."""

    @cached_property
    def count(self) -> int:
        counted = self._capped_count()
        return pagination.COUNT_CAP + 1 if self.is_estimated else counted


class BigTableAdminMixin:
    """Count at most COUNT_CAP matching rows, never the whole table a second time."""

    paginator = AdminCountPaginator
    show_full_result_count = False


def values_filter(field_name: str, title: str, values: list[str]) -> type[admin.SimpleListFilter]:
    """A list filter offering these values of `field_name`, found without a
    DISTINCT over the table (Django's own filter for a field without choices)."""

    class ValuesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            return [(value, value) for value in values]

        def queryset(self, request, queryset):
            if self.value() is None:
                return queryset
            return queryset.filter(**{field_name: self.value()})

    ValuesFilter.title = title
    return ValuesFilter
