from django.core.management.base import BaseCommand, CommandError

from core.models import ApiClient
from core.services import api_client_rotate


class Command(BaseCommand):
    help = "Give an API client a new secret (printed once); the old one stops working."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, **options):
        client = ApiClient.objects.filter(name=options["name"]).first()
        if client is None:
            raise CommandError(f"No API client named {options['name']!r}.")
        issued = api_client_rotate(client=client)
        self.stderr.write(f"New secret for {client.name!r}, shown once:")
        self.stdout.write(issued.secret)
