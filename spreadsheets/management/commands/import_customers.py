"""python manage.py import_customers FILE [--mapping col=field,...] [--dry-run] [--resume ID]"""

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from spreadsheets import services
from spreadsheets.customer_rows import COLUMN_BY_TARGET, TARGETS, parse_mapping_option
from spreadsheets.models import CustomerImport, ImportRow


class Progress:
    """A one-line progress bar on stderr (rewritten in place on a terminal)."""

    def __init__(self, stream, label: str):
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.tty = stream.isatty() if hasattr(stream, "isatty") else False

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        rate = done / max(time.monotonic() - self.started, 1e-6)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{total} rows, {rate:,.0f} rows/s"
        )
        self.stream.write(("\r" + line) if self.tty else line + "\n", ending="")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n", ending="")


class Command(BaseCommand):
    help = (
        "Import customers from a CSV file (UTF-8 or Excel's encodings, comma or semicolon). "
        f"Fields: {', '.join(TARGETS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="the CSV file")
        parser.add_argument(
            "--mapping",
            default="",
            help='columns to fields over the suggested ones, e.g. "Cell=phone_mobile,Fax="',
        )
        parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
        parser.add_argument("--region", default="", help="region of national phone numbers")
        parser.add_argument("--time-zone", default="", help="zone of dates without an offset")
        parser.add_argument("--user", default="", help="username recorded as the importer")
        parser.add_argument("--resume", type=int, help="continue the stopped import with this id")
        parser.add_argument("--errors", default="", help="write the error report CSV here")

    def handle(self, *args, **options):
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            if options["resume"]:
                customer_import = services.customer_import_start(
                    customer_import_id=options["resume"], dry_run=False
                )
            else:
                if not options["file"]:
                    raise CommandError("Give the CSV file (or --resume ID).")
                path = Path(options["file"])
                if not path.is_file():
                    raise CommandError(f"No file {path}.")
                customer_import = services.customer_import_upload(
                    file_name=path.name,
                    content=path.read_bytes(),
                    actor=actor,
                    region=options["region"],
                    time_zone=options["time_zone"],
                )
                try:
                    mapping = parse_mapping_option(options["mapping"], customer_import.header)
                except ValueError as exc:
                    raise CommandError(str(exc)) from exc
                services.customer_import_set_mapping(
                    customer_import=customer_import, mapping=mapping
                )
                customer_import = services.customer_import_start(
                    customer_import_id=customer_import.pk, dry_run=options["dry_run"]
                )
        except services.ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        self._describe(customer_import)
        progress = Progress(self.stderr, "dry run" if options["dry_run"] else "import")
        try:
            customer_import = services.customer_import_process(
                customer_import_id=customer_import.pk, on_progress=progress
            )
        finally:
            progress.close()
        self._report(customer_import, options["errors"])

    def _describe(self, customer_import: CustomerImport) -> None:
        self.stdout.write(
            f"import #{customer_import.pk}: {customer_import.file_name}, "
            f"{customer_import.rows_total} rows, {customer_import.encoding}, "
            f"delimiter {customer_import.delimiter!r}"
        )
        for name, target in zip(customer_import.header, customer_import.mapping, strict=True):
            field = f"{target} ({COLUMN_BY_TARGET[target].label})" if target else "(ignored)"
            self.stdout.write(f"  {name!r} -> {field}")

    def _report(self, customer_import: CustomerImport, errors_path: str) -> None:
        verb = "would be" if customer_import.phase == CustomerImport.Phase.DRY_RUN else "were"
        self.stdout.write(
            f"{customer_import.created_count} {verb} created, {customer_import.updated_count} "
            f"updated, {customer_import.matched_count} matched unchanged, "
            f"{customer_import.error_count} rows with errors."
        )
        errors = ImportRow.objects.filter(
            customer_import=customer_import,
            phase=customer_import.phase,
            outcome=ImportRow.Outcome.ERROR,
        ).order_by("line")
        for row in errors[:50]:
            self.stdout.write(f"  line {row.line}: {'; '.join(row.messages)}")
        if errors_path and customer_import.error_count:
            from spreadsheets.selectors import import_error_report_lines

            with open(errors_path, "w", encoding="utf-8", newline="") as handle:
                handle.writelines(import_error_report_lines(customer_import=customer_import))
            self.stdout.write(f"error report: {errors_path}")
        if customer_import.status == CustomerImport.Status.FAILED:
            raise CommandError(customer_import.message)
