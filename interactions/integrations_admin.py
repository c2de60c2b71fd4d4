"""Admin for Twilio accounts and Asterisk sources (imported by interactions/admin.py)."""

from django import forms
from django.contrib import admin

from interactions.integrations import twilio_account_add
from interactions.models import AsteriskSource, TwilioAccount


class TwilioAccountForm(forms.ModelForm):
    auth_token = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Stored encrypted; leave empty to keep the current token.",
    )

    class Meta:
        model = TwilioAccount
        fields = ["account_sid", "friendly_name", "is_active", "creates_unmatched_customers"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("auth_token"):
            self.add_error("auth_token", "Required for a new account.")
        return data


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    form = TwilioAccountForm
    list_display = [
        "account_sid",
        "friendly_name",
        "is_active",
        "creates_unmatched_customers",
        "created_at",
    ]
    search_fields = ["account_sid", "friendly_name"]

    def save_model(self, request, obj, form, change):
        token = form.cleaned_data.get("auth_token")
        if token:
            saved = twilio_account_add(
                account_sid=obj.account_sid,
                auth_token=token,
                friendly_name=obj.friendly_name,
                creates_unmatched_customers=obj.creates_unmatched_customers,
            )
            obj.pk = saved.pk
            obj.auth_token_encrypted = saved.auth_token_encrypted
            if not obj.is_active:
                super().save_model(request, obj, form, change)
        else:
            super().save_model(request, obj, form, change)


@admin.register(AsteriskSource)
class AsteriskSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "column_count", "time_zone", "created_at"]
    search_fields = ["name"]
