from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.models import ApiClient
from core.services import api_client_create


class Command(BaseCommand):
    help = "Create an API client and print its secret once (only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=ApiClient.Scope.values,
            help="Repeat for several scopes.",
        )
        parser.add_argument(
            "--create-unmatched-customers",
            action="store_true",
            help="Synced calls from unknown numbers create a customer (default: left unmatched).",
        )
        parser.add_argument("--rate-limit", default="", help='e.g. "600/m"; default from settings')

    def handle(self, *args, **options):
        try:
            issued = api_client_create(
                name=options["name"],
                scopes=options["scope"],
                creates_unmatched_customers=options["create_unmatched_customers"],
                rate_limit=options["rate_limit"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(
            f"Created API client {issued.client.name!r} with scopes "
            f"{', '.join(issued.client.scopes)}. The secret is shown once; store it now:"
        )
        self.stdout.write(issued.secret)
