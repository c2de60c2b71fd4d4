"""Extension points of the interaction log form, for apps above `interactions`.

The follow-ups app adds "promise a follow-up" to the rep's logging form without
`interactions` importing it (dependencies point followups -> interactions -> crm).
An app lists its extension's dotted path in the setting
``INTERACTION_FORM_EXTENSIONS``; `interaction_form_extensions()` loads them with
`django.utils.module_loading.import_string`.

Contract (see interactions.views.customer_log_form and
interactions.services.interaction_log_with_extensions):

1. For GET and POST the view calls ``build_form(data=..., customer=..., user=...)``
   on every extension. ``data`` is ``request.POST`` on submission, else None.
   The form must use ``prefix=extension.prefix`` so its field names never clash
   with the log form's (``<prefix>-<field>``).
2. The form is rendered inside the log form with
   ``{% include extension.template_name with extension_form=form %}``: the
   template gets ``extension_form`` (and the surrounding context). It renders
   fields only, no <form> tag and no submit button.
   ``interactions/_extension_fields.html`` is a generic one that renders every
   field of ``extension_form``.
3. On POST the view validates the log form and every extension form; only when
   all are valid does it call ``interaction_log_with_extensions``, which logs
   the interaction and then calls ``save(form=..., interaction=..., user=...)``
   of each extension in order, all inside ONE database transaction: an
   exception from ``save`` rolls the interaction back too (nothing half-saved).
   A ``django.core.exceptions.ValidationError`` raised by ``save`` rolls back
   and is shown on the log form (field errors under a log-form field of that
   name, others at the top) with status 400, instead of a 500.
4. An extension whose form is optional (e.g. an unchecked "promise a follow-up"
   box) should validate as valid and do nothing in ``save``.

Example (followups/forms.py):

    class PromiseFollowUpExtension:
        prefix = "promise"
        template_name = "followups/_promise_extension.html"

        def build_form(self, *, data, customer, user):
            return PromiseForm(data=data, prefix=self.prefix)

        def save(self, *, form, interaction, user):
            if form.cleaned_data["is_promised"]:
                followup_promise(interaction=interaction, ..., created_by=user)

    # config/settings/base.py
    INTERACTION_FORM_EXTENSIONS = ["followups.forms.PromiseFollowUpExtension"]
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django import forms
    from django.http import QueryDict

    from crm.models import Customer
    from interactions.models import Interaction


@runtime_checkable
class InteractionFormExtension(Protocol):
    prefix: str  # form prefix, e.g. "promise"
    template_name: str  # included inside the log form, context: {"extension_form": form}

    def build_form(
        self, *, data: QueryDict | None, customer: Customer, user: Any
    ) -> forms.Form: ...

    # Called in the SAME transaction right after the interaction is logged.
    def save(self, *, form: forms.Form, interaction: Interaction, user: Any) -> None: ...


def _load(paths: tuple[str, ...]) -> list[InteractionFormExtension]:
    extensions = []
    for path in paths:
        loaded = import_string(path)
        # A class is instantiated without arguments; an object is used as it is.
        extension = loaded() if isinstance(loaded, type) else loaded
        if not isinstance(extension, InteractionFormExtension):
            raise TypeError(f"{path} does not implement InteractionFormExtension")
        extensions.append(extension)
    return extensions


@cache
def _cached(paths: tuple[str, ...]) -> list[InteractionFormExtension]:
    return _load(paths)


def interaction_form_extensions() -> list[InteractionFormExtension]:
    """The extensions named by settings.INTERACTION_FORM_EXTENSIONS, in order."""
    paths = tuple(getattr(settings, "INTERACTION_FORM_EXTENSIONS", ()))
    return _cached(paths)
