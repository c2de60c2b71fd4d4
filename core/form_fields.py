"""Form fields shared by the apps' HTML forms."""

from django import forms
from django.forms.models import ModelChoiceIterator


class RowsChoiceIterator(ModelChoiceIterator):
    """A model choice field's options from its queryset's rows, read in one plain
    query and kept with the queryset. Django's own iterator uses
    `queryset.iterator()`, which on PostgreSQL is a server-side cursor: three round
    trips (DECLARE, FETCH, CLOSE) for the handful of rows a select or a few
    checkboxes show, on every render of the form."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ModelChoiceField(forms.ModelChoiceField):
    iterator = RowsChoiceIterator


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    iterator = RowsChoiceIterator
