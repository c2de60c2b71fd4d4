"""The rep's log form. Validation messages only; rules live in interactions.services."""

from django import forms
from django.utils import timezone

from core.form_fields import ModelChoiceField
from interactions.models import Interaction, InteractionCategory
from interactions.selectors import categories_active

SENTIMENT_CHOICES = [
    ("", "—"),
    ("-2", "−2 very unhappy"),
    ("-1", "−1 unhappy"),
    ("0", "0 neutral"),
    ("1", "+1 happy"),
    ("2", "+2 very happy"),
]
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class InteractionLogForm(forms.Form):
    channel = forms.ChoiceField(choices=Interaction.Channel.choices, initial="phone")
    direction = forms.ChoiceField(choices=Interaction.Direction.choices, initial="inbound")
    occurred_at = forms.DateTimeField(
        label="When",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    duration_minutes = forms.IntegerField(
        label="Minutes", required=False, min_value=0, max_value=24 * 60
    )
    category = ModelChoiceField(
        queryset=InteractionCategory.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="—",
    )
    subject = forms.CharField(max_length=255, required=False)
    summary = forms.CharField(
        label="Notes", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3})
    )
    outcome = forms.ChoiceField(choices=[("", "—"), *Interaction.Outcome.choices], required=False)
    sentiment = forms.TypedChoiceField(
        choices=SENTIMENT_CHOICES, coerce=int, empty_value=None, required=False
    )
    # Phone
    from_number = forms.CharField(label="From number", max_length=64, required=False)
    to_number = forms.CharField(label="To number", max_length=64, required=False)
    recording_url = forms.URLField(
        label="Recording URL", max_length=500, required=False, assume_scheme="https"
    )
    disposition = forms.CharField(max_length=32, required=False)
    # E-mail
    email_from = forms.CharField(label="From", max_length=998, required=False)
    email_to = forms.CharField(label="To", max_length=5000, required=False)
    email_cc = forms.CharField(label="Cc", max_length=5000, required=False)
    # In person
    location = forms.CharField(max_length=255, required=False)

    PHONE_FIELDS = ("from_number", "to_number", "recording_url", "disposition")
    EMAIL_FIELDS = ("email_from", "email_to", "email_cc")
    IN_PERSON_FIELDS = ("location",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories_active()
        # The viewer's clock (crm.middleware.ViewerTimeZoneMiddleware): shown, defaulted
        # and parsed in it, and the label says which it is.
        now = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
        self.fields["occurred_at"].label = f"When (your time, {now:%Z})"
        if not self.is_bound:
            self.initial.setdefault("occurred_at", now)
        # No autofocus: the customer page opens at the top, on who the person is
        # (the "l" shortcut jumps here).

    def log_arguments(self) -> dict:
        """Cleaned data as keyword arguments of services.interaction_log."""
        data = dict(self.cleaned_data)
        minutes = data.pop("duration_minutes")
        data["duration_seconds"] = (minutes or 0) * 60
        return data

    def channel_fields(self, names):
        return [self[name] for name in names]

    @property
    def phone_fields(self):
        return self.channel_fields(self.PHONE_FIELDS)

    @property
    def email_fields(self):
        return self.channel_fields(self.EMAIL_FIELDS)

    @property
    def in_person_fields(self):
        return self.channel_fields(self.IN_PERSON_FIELDS)

    @property
    def main_fields(self):
        return [
            self[name]
            for name in (
                "channel",
                "direction",
                "occurred_at",
                "duration_minutes",
                "category",
                "outcome",
                "sentiment",
                "subject",
            )
        ]


class FeedbackForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        label="How satisfied are you? (1 = not at all, 5 = very)",
    )
    comment = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
