"""python manage.py import_interactions FILE [--mapping col=field,...] [--source NAME] [--dry-run]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from spreadsheets.csvfile import CsvFileError, normalise_header, open_table
from spreadsheets.interaction_import import (
    DEFAULT_SOURCE,
    FIELDS,
    interactions_import,
    suggest_interaction_mapping,
)
from spreadsheets.management.commands.import_customers import Progress


def _mapping(text: str, header: list[str]) -> list[str]:
    mapping = suggest_interaction_mapping(header)
    by_name = {normalise_header(name): index for index, name in enumerate(header)}
    for part in filter(None, (p.strip() for p in text.split(","))):
        column, _, target = (x.strip() for x in part.partition("="))
        if normalise_header(column) not in by_name:
            raise CommandError(f"No column {column!r} in the header ({', '.join(header)}).")
        if target and target not in FIELDS:
            raise CommandError(f"Unknown field {target!r}; one of: {', '.join(FIELDS)}.")
        mapping = ["" if (t == target and target) else t for t in mapping]
        mapping[by_name[normalise_header(column)]] = target
    return mapping


class Command(BaseCommand):
    help = (
        "Import past interactions from CSV through the sync engine (matching by customer id, "
        f"phone or e-mail; idempotent by source and external id). Fields: {', '.join(FIELDS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--mapping", default="")
        parser.add_argument("--source", default=DEFAULT_SOURCE, help="source of rows without one")
        parser.add_argument("--region", default="")
        parser.add_argument("--time-zone", default="")
        parser.add_argument(
            "--create-customers",
            action="store_true",
            help="create a customer for a phone or e-mail no customer has (else left unmatched)",
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        content = path.read_bytes()
        try:
            header = open_table(content).header
        except CsvFileError as exc:
            raise CommandError(str(exc)) from exc
        mapping = _mapping(options["mapping"], header)
        for name, target in zip(header, mapping, strict=True):
            self.stdout.write(f"  {name!r} -> {target or '(ignored)'}")
        progress = Progress(self.stderr, "dry run" if options["dry_run"] else "import")
        try:
            result = interactions_import(
                content=content,
                mapping=mapping,
                source=options["source"],
                region=options["region"],
                time_zone=options["time_zone"],
                creates_unmatched_customers=options["create_customers"],
                dry_run=options["dry_run"],
                on_progress=progress,
            )
        finally:
            progress.close()
        verb = "would be" if options["dry_run"] else "were"
        self.stdout.write(
            f"{result.count('created')} {verb} created, {result.count('updated')} updated, "
            f"{result.count('unchanged')} unchanged, {result.count('error')} rows with errors."
        )
        for row in result.rows:
            if row.status == "error":
                self.stdout.write(f"  line {row.line}: {'; '.join(row.messages)}")
