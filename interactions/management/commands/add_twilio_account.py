from argparse import BooleanOptionalAction

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from interactions.integrations import twilio_account_add


class Command(BaseCommand):
    help = "Register a Twilio account for voice status callbacks (auth token stored encrypted)."

    def add_arguments(self, parser):
        parser.add_argument("--account-sid", required=True, help="AC followed by 32 hex digits")
        parser.add_argument("--auth-token", required=True)
        parser.add_argument("--name", default="", help="A friendly name")
        parser.add_argument(
            "--creates-unmatched-customers",
            action=BooleanOptionalAction,
            default=None,
            help="Whether a caller matching no customer becomes a new customer "
            "(default for a new account: no, the call stays unmatched for a rep to assign)",
        )

    def handle(self, *args, **options):
        try:
            account = twilio_account_add(
                account_sid=options["account_sid"],
                auth_token=options["auth_token"],
                friendly_name=options["name"],
                creates_unmatched_customers=options["creates_unmatched_customers"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Twilio account {account.account_sid} registered. Point its status callbacks at "
            "https://<your host>/api/v1/integrations/twilio/voice/"
        )
