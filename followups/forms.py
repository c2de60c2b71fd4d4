"""Forms of the follow-up pages, and the interaction form's "Promise a follow-up" slot."""

from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from core.form_fields import ModelMultipleChoiceField
from followups.models import FollowUp, Priority


class CompleteForm(forms.Form):
    note = forms.CharField(max_length=5000, required=False, widget=forms.TextInput)


class KeptPromiseField(ModelMultipleChoiceField):
    """Open promises labelled with their due time in the rep's clock."""

    time_zone = "UTC"

    def label_from_instance(self, obj: FollowUp) -> str:
        due = obj.due_at.astimezone(ZoneInfo(self.time_zone))
        return f"{obj.action} (due {due:%a %d %b %H:%M %Z})"


class PromiseFields(forms.Form):
    """The promise part of the interaction form (see PromiseFollowUpExtension)."""

    make_promise = forms.BooleanField(required=False, label="Promise a follow-up")
    action = forms.CharField(max_length=500, required=False, label="What was promised")
    due_phrase = forms.CharField(
        max_length=100,
        required=False,
        label="When",
        help_text='e.g. "in 2 hours", "end of today", "tomorrow morning", "by Friday", '
        '"within 4 business hours"',
    )
    due_at = forms.DateTimeField(
        required=False,
        label="Or exact time (your time)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    channel = forms.ChoiceField(
        choices=[("", "Customer's preferred")] + list(FollowUp.Channel.choices), required=False
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    # "This contact kept my promise": the owner's open promises to this customer.
    keeps = KeptPromiseField(
        queryset=FollowUp.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="This contact keeps my promise",
    )

    def clean(self):
        data = super().clean()
        if data.get("make_promise"):
            if not (data.get("action") or "").strip():
                self.add_error("action", "Say what was promised.")
            phrase = (data.get("due_phrase") or "").strip()
            if not data.get("due_at") and not phrase:
                self.add_error("due_phrase", "Say when (e.g. 'by Friday').")
            elif not data.get("due_at") and getattr(self, "customer", None) is not None:
                # Read the phrase now, so a typo shows beside the field before anything is saved.
                from followups.calendar import DuePhraseError, due_at_from_phrase
                from followups.schedules import team_calendar, user_team

                try:
                    # Kept: the service then records this due time (and the phrase)
                    # instead of reading the team's calendar a second time.
                    data["due_at"] = due_at_from_phrase(
                        phrase,
                        now=timezone.now(),
                        calendar=team_calendar(team=user_team(self.user)),
                        customer_time_zone=self.customer.time_zone,
                    )
                except DuePhraseError as exc:
                    self.add_error("due_phrase", str(exc))
        return data


class PromiseFollowUpExtension:
    """The interaction form's "Promise a follow-up" slot (interactions.hooks).

    Registered in settings.INTERACTION_FORM_EXTENSIONS. The promise is saved in
    the same transaction as the interaction, so either both exist or neither.
    """

    prefix = "promise"
    template_name = "followups/_promise_extension.html"

    def build_form(self, *, data, customer, user) -> PromiseFields:
        form = PromiseFields(data=data, prefix=self.prefix)
        # Parsed in the active zone (the rep's, set by the viewer time-zone middleware).
        zone_now = timezone.localtime(timezone.now())
        form.fields["due_at"].label = f"Or exact time (your time, {zone_now:%Z})"
        form.customer = customer
        form.user = user
        # The same clock: labels of the promises it may keep, in the rep's time.
        form.fields["keeps"].time_zone = timezone.get_current_timezone_name()
        form.fields["keeps"].queryset = FollowUp.objects.filter(
            customer=customer, owner_id=user.pk, status=FollowUp.Status.OPEN
        ).order_by("due_at", "pk")
        return form

    def save(self, *, form: PromiseFields, interaction, user) -> None:
        from followups.services import followup_keep_with_interaction, followup_promise

        data = form.cleaned_data
        for kept in data.get("keeps") or []:
            followup_keep_with_interaction(followup_id=kept.pk, interaction=interaction, user=user)
        if not data.get("make_promise"):
            return
        try:
            followup_promise(
                customer=interaction.customer or form.customer,
                owner=user,
                action=data["action"],
                due_at=data.get("due_at"),
                due_phrase=data.get("due_phrase") or "",
                team=interaction.team,
                origin_interaction=interaction,
                channel=data.get("channel") or "",
                priority=data.get("priority") or Priority.NORMAL,
                created_by=user,
            )
        except ValidationError as exc:
            # Name the promise form's own fields so the message shows in place.
            if not hasattr(exc, "error_dict"):
                raise
            errors: dict[str, list] = {}
            for key, messages in exc.message_dict.items():
                name = key if key in form.fields else NON_FIELD_ERRORS
                if key == "due_at" and not data.get("due_at"):
                    name = "due_phrase"
                errors.setdefault(name, []).extend(messages)
            raise ValidationError(errors) from exc
