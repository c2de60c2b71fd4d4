"""Hand pending (and with --failed, given-up) e-mail deliveries to the broker again."""

from django.core.management.base import BaseCommand

from followups import operations


class Command(BaseCommand):
    help = (
        "Enqueue a delivery task for every pending e-mail notification (idempotent: a "
        "notification is sent at most once however often it is enqueued)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--failed",
            action="store_true",
            help="also retry deliveries that gave up, with a fresh retry budget",
        )

    def handle(self, *args, **options):
        ids = operations.outbox_retry(include_failed=options["failed"])
        self.stdout.write(f"{len(ids)} deliveries handed to the broker.")
