"""What would the sweep do for a team in the next N hours? Changes nothing."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.models import Team
from followups import operations

PROPOSABLE = {
    "reminder_lead_minutes": "reminder_lead_minutes",
    "escalate_1_minutes": "escalate_1_after_business_minutes",
    "escalate_2_minutes": "escalate_2_after_business_minutes",
    "high_priority_percent": "high_priority_percent",
    "urgent_priority_percent": "urgent_priority_percent",
}


class Command(BaseCommand):
    help = (
        "List the reminders, overdue notices and escalations a team's open promises "
        "would get in the next N hours, under its current policy or a proposed one. "
        "Nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="team id or exact name")
        parser.add_argument("--hours", type=float, default=24.0)
        for option in PROPOSABLE:
            parser.add_argument(f"--{option.replace('_', '-')}", type=int, dest=option)

    def handle(self, *args, **options):
        team = self._team(options["team"])
        if options["hours"] <= 0:
            raise CommandError("--hours must be positive.")
        proposed = {
            field: options[option]
            for option, field in PROPOSABLE.items()
            if options.get(option) is not None
        }
        try:
            preview = operations.policy_preview(
                team_id=team.pk, hours=options["hours"], proposed=proposed or None
            )
        except ValidationError as error:
            raise CommandError(f"Proposed policy is not valid: {error.message_dict}") from error
        policy = "proposed policy" if proposed else "current policy"
        totals: dict[str, int] = {}
        for item in preview:
            label = item.kind if item.kind != "escalate" else f"escalate level {item.level}"
            totals[label] = totals.get(label, 0) + 1
        self.stdout.write(f"Team {team.name}, next {options['hours']:g} h, {policy}:")
        for label in ("remind", "overdue", "escalate level 1", "escalate level 2"):
            self.stdout.write(f"  {label}: {totals.get(label, 0)}")
        for item in preview:
            level = f" level {item.level}" if item.kind == "escalate" else ""
            self.stdout.write(
                f"{item.at.isoformat()}  {item.kind}{level}  follow-up #{item.followup_id}"
                f"  owner {item.owner}"
            )

    def _team(self, value: str) -> Team:
        teams = Team.objects.filter(pk=int(value)) if value.isdigit() else Team.objects.none()
        team = teams.first() or Team.objects.filter(name=value).first()
        if team is None:
            raise CommandError(f"--team: no team with id or name {value!r}.")
        return team
