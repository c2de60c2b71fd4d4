"""Admin pages whose saves go through the services, as the API's do.

`ServiceModelAdmin` is a ModelAdmin whose `save_model` / `save_related`
call a service instead of `obj.save()`. A service refuses bad input with a
ValidationError; raised from `save_model` that would be a 500, so
`service_call` turns it into `ServiceRefused`, the admin's transaction rolls
back (nothing half-saved), and the same POST is answered again through
Django's own change-form view with the service's messages added to the form:
the admin shows them next to the fields, with the values kept.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest

T = TypeVar("T")

_ERRORS_ATTRIBUTE = "_rapport_service_errors"


class ReadOnlyAdminMixin:
    """Browse only: no add, change, delete or bulk action (internal tables)."""

    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceRefused(Exception):  # noqa: N818 - a refusal, carried to changeform_view
    def __init__(self, error: ValidationError) -> None:
        super().__init__(error)
        self.error = error


def service_call(service: Callable[..., T], /, **arguments: Any) -> T:
    """Call a service from an admin save; its ValidationError becomes form errors."""
    try:
        return service(**arguments)
    except ValidationError as exc:
        raise ServiceRefused(exc) from exc


def adopt_saved(obj: Any, saved: Any) -> None:
    """Make the admin's unsaved instance stand for the row a service created
    (the admin goes on to log, message and redirect with `obj`)."""
    obj.__dict__.update(saved.__dict__)


def _messages_by_field(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {NON_FIELD_ERRORS: error.messages}


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put each message on the field it names; messages about a field the form
    does not show (a derived or read-only one) go to the top, naming it."""
    for field, messages in _messages_by_field(error).items():
        if field in form.fields:
            form.add_error(field, messages)
        elif field == NON_FIELD_ERRORS:
            form.add_error(None, messages)
        else:
            form.add_error(None, [f"{field}: {message}" for message in messages])


class ServiceModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose writes are service calls (see the module docstring).

    Subclasses implement `save_model` (and `save_formset` for editable inlines)
    with `service_call`; nothing here writes itself, and nothing is deleted
    unless a subclass allows it and deletes through a service.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The atomic block around the save has rolled back. Answer the same
            # POST again; get_form adds the service's errors, so the form is
            # invalid this time and shown again with them.
            setattr(request, _ERRORS_ATTRIBUTE, refused.error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        error = getattr(request, _ERRORS_ATTRIBUTE, None)
        if error is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                add_service_errors(self, error)
                return cleaned_data

        RefusedForm.__name__ = form_class.__name__
        return RefusedForm

    def save_related(self, request, form, formsets, change) -> None:
        """Nothing is saved by the form itself: many-to-many fields and inlines
        are the subclass's to write through a service (or read-only)."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change) -> None:
        # Read-only inlines: nothing to save, but the change message reads these.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.has_changed():
            raise ServiceRefused(
                ValidationError(
                    f"{formset.model._meta.verbose_name_plural} cannot be changed here."
                )
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        """No deletes unless a subclass has a service for them (and says so)."""
        return False
