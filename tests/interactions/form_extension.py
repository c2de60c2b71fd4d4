"""A stand-in for the follow-ups app's extension: implements interactions.hooks' protocol."""

from django import forms
from django.core.exceptions import ValidationError

SAVED: list[tuple[int, str]] = []


class PromiseForm(forms.Form):
    is_promised = forms.BooleanField(required=False, label="Promise a follow-up")
    action = forms.CharField(required=False, max_length=100)

    def clean(self):
        data = super().clean()
        if data.get("is_promised") and not data.get("action"):
            self.add_error("action", "Say what you promised.")
        return data


class PromiseExtension:
    prefix = "promise"
    template_name = "interactions/_extension_fields.html"

    def build_form(self, *, data, customer, user):
        return PromiseForm(data=data, prefix=self.prefix)

    def save(self, *, form, interaction, user):
        if form.cleaned_data["action"] == "explode":
            raise ValidationError("Cannot promise that.")
        if form.cleaned_data["is_promised"]:
            SAVED.append((interaction.pk, form.cleaned_data["action"]))
