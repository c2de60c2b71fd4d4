from django.core.management.base import BaseCommand, CommandError

from core.models import ApiClient
from core.services import api_client_revoke


class Command(BaseCommand):
    help = "Revoke an API client: its secret stops working at once."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, **options):
        client = ApiClient.objects.filter(name=options["name"]).first()
        if client is None:
            raise CommandError(f"No API client named {options['name']!r}.")
        api_client_revoke(client=client)
        self.stdout.write(f"Revoked {client.name!r}.")
