"""Pages for CSV import and export. Thin: parse, check access, call a service or selector.

Flow: upload -> mapping (suggested from the header) -> dry run -> import.
Files above IMPORT_INLINE_MAX_ROWS rows run in a Celery task; the page polls
the progress fragment with htmx until the phase is over.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.audit import audit_record
from crm import access
from spreadsheets import selectors, services, tasks
from spreadsheets.customer_rows import COLUMNS
from spreadsheets.models import CustomerImport, ImportRow

RESULT_ROWS_SHOWN = 200


def can_import(user) -> bool:
    """Bulk writes and exports of every customer: supervisors and admins."""
    return access.is_admin(user) or access.is_supervisor(user)


def _require_importer(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied("Only supervisors and admins may import or export customers.")


def _inline_max_rows() -> int:
    return getattr(settings, "IMPORT_INLINE_MAX_ROWS", 2000)


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV: comma or semicolon, UTF-8 or Excel's encoding.")
    region = forms.CharField(
        max_length=2,
        required=False,
        help_text="Country of phone numbers written without +, e.g. GB (default: "
        + settings.PHONE_DEFAULT_REGION
        + ").",
    )
    time_zone = forms.CharField(
        max_length=64, required=False, help_text="Zone of dates without one (default: UTC)."
    )


@login_required
def import_list(request):
    _require_importer(request)
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > services.MAX_FILE_BYTES:  # refused before it is read into memory
                form.add_error("file", "The file is larger than 50 MB: split it.")
                return render(
                    request,
                    "spreadsheets/import_list.html",
                    {"form": form, "imports": []},
                    status=400,
                )
            try:
                customer_import = services.customer_import_upload(
                    file_name=upload.name,
                    content=upload.read(),
                    actor=request.user,
                    region=form.cleaned_data["region"],
                    time_zone=form.cleaned_data["time_zone"],
                )
            except services.ImportRefused as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("spreadsheets:import-detail", customer_import.pk)
    imports = CustomerImport.objects.select_related("created_by").defer("content")[:20]
    return render(
        request,
        "spreadsheets/import_list.html",
        {"form": form, "imports": imports},
        status=400 if form.errors else 200,
    )


def _context(customer_import: CustomerImport, **extra) -> dict:
    columns = []
    for index, (name, target) in enumerate(
        zip(customer_import.header, customer_import.mapping, strict=True)
    ):
        columns.append({"index": index, "name": name, "target": target})
    outcome_counts = {
        "created": customer_import.created_count,
        "updated": customer_import.updated_count,
        "matched": customer_import.matched_count,
        "error": customer_import.error_count,
    }
    return {
        "imp": customer_import,
        "columns": columns,
        "fields": COLUMNS,
        "stalled": services.customer_import_is_stalled(customer_import),
        "counts": outcome_counts,
        "error_rows": selectors.import_rows(
            customer_import=customer_import, outcome=ImportRow.Outcome.ERROR, limit=50
        )
        if not customer_import.is_running
        else [],
        "result_rows": selectors.import_rows(
            customer_import=customer_import, limit=RESULT_ROWS_SHOWN
        )
        if not customer_import.is_running
        else [],
        **extra,
    }


def _get(customer_import_id: int) -> CustomerImport:
    return get_object_or_404(
        CustomerImport.objects.select_related("created_by"), pk=customer_import_id
    )


@login_required
@require_GET
def import_detail(request, customer_import_id: int):
    _require_importer(request)
    customer_import = _get(customer_import_id)
    return render(request, "spreadsheets/import_detail.html", _context(customer_import))


@login_required
@require_GET
def import_progress(request, customer_import_id: int):
    """The htmx fragment the page polls while a phase runs."""
    _require_importer(request)
    customer_import = _get(customer_import_id)
    response = render(request, "spreadsheets/_progress.html", _context(customer_import))
    if not customer_import.is_running:
        response["HX-Refresh"] = "true"  # the phase is over: show the results page
    return response


def _start(request, customer_import: CustomerImport, *, dry_run: bool):
    try:
        services.customer_import_start(customer_import_id=customer_import.pk, dry_run=dry_run)
    except services.ImportRefused as exc:
        return render(
            request,
            "spreadsheets/import_detail.html",
            _context(customer_import, problem=str(exc)),
            status=400,
        )
    if customer_import.rows_total > _inline_max_rows():
        transaction.on_commit(
            lambda: tasks.customer_import_process.delay(customer_import_id=customer_import.pk)
        )
    else:
        services.customer_import_process(customer_import_id=customer_import.pk)
    return redirect("spreadsheets:import-detail", customer_import.pk)


@login_required
@require_POST
def import_mapping(request, customer_import_id: int):
    """Save the column mapping and start the dry run."""
    _require_importer(request)
    customer_import = _get(customer_import_id)
    known = {column.target for column in COLUMNS}
    mapping = []
    for index in range(len(customer_import.header)):
        target = request.POST.get(f"column_{index}", "")
        mapping.append(target if target in known else "")
    try:
        services.customer_import_set_mapping(customer_import=customer_import, mapping=mapping)
    except services.ImportRefused as exc:
        customer_import.mapping = mapping
        return render(
            request,
            "spreadsheets/import_detail.html",
            _context(customer_import, problem=str(exc)),
            status=400,
        )
    return _start(request, customer_import, dry_run=True)


@login_required
@require_POST
def import_run(request, customer_import_id: int):
    """Run the import (or, with dry_run=1, restart a stalled dry run)."""
    _require_importer(request)
    dry_run = request.POST.get("dry_run") == "1"
    return _start(request, _get(customer_import_id), dry_run=dry_run)


@login_required
@require_GET
def import_error_report(request, customer_import_id: int):
    _require_importer(request)
    customer_import = _get(customer_import_id)
    if customer_import.status == CustomerImport.Status.EXPIRED:
        return HttpResponse(services.EXPIRED_REFUSAL, status=410, content_type="text/plain")
    response = StreamingHttpResponse(
        selectors.import_error_report_lines(customer_import=customer_import),
        content_type="text/csv; charset=utf-8",
    )
    stem = customer_import.file_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = f'attachment; filename="{stem}-errors.csv"'
    return response


# --- past interactions ---------------------------------------------------------------------

# Interaction files are imported in the request (each batch of 1,000 is one
# sync call); beyond this, `manage.py import_interactions` shows a progress bar.
INTERACTION_INLINE_MAX_ROWS = 20_000


class InteractionUploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with the customer's phone or e-mail, channel, direction, time, notes."
    )
    source = forms.CharField(
        max_length=64,
        required=False,
        help_text="Where the history comes from (default csv-import).",
    )
    region = forms.CharField(max_length=2, required=False)
    time_zone = forms.CharField(max_length=64, required=False)
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run (write nothing)")


@login_required
def interaction_import(request):
    """Upload a history of calls and e-mails; they go through the sync engine."""
    _require_importer(request)
    from spreadsheets.csvfile import CsvFileError, open_table
    from spreadsheets.interaction_import import DEFAULT_SOURCE, interactions_import

    form = (
        InteractionUploadForm(request.POST, request.FILES)
        if request.method == "POST"
        else InteractionUploadForm()
    )
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read() if upload.size <= services.MAX_FILE_BYTES else b""
        try:
            if not content:
                raise CsvFileError("The file is empty or larger than 50 MB.")
            if open_table(content).count() > INTERACTION_INLINE_MAX_ROWS:
                raise CsvFileError(
                    f"More than {INTERACTION_INLINE_MAX_ROWS} rows: use "
                    "`manage.py import_interactions` for this file."
                )
            result = interactions_import(
                content=content,
                source=form.cleaned_data["source"] or DEFAULT_SOURCE,
                region=form.cleaned_data["region"],
                time_zone=form.cleaned_data["time_zone"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except CsvFileError as exc:
            form.add_error("file", str(exc))
    return render(
        request,
        "spreadsheets/interaction_import.html",
        {
            "form": form,
            "result": result,
            "dry_run": form.is_bound and form.is_valid() and form.cleaned_data["dry_run"],
            "counts": {s: result.count(s) for s in ("created", "updated", "unchanged", "error")}
            if result
            else {},
            "errors": [row for row in result.rows if row.status == "error"][:200] if result else [],
        },
        status=400 if form.errors else 200,
    )


# --- exports ----------------------------------------------------------------------------


@login_required
@require_GET
def customer_export(request):
    """The customer list as CSV, with the list page's search (`q`) and filters."""
    _require_importer(request)
    filters = {
        "query": request.GET.get("q", "").strip(),
        "tag": request.GET.get("tag", ""),
        "preferred_language": request.GET.get("preferred_language", ""),
        "preferred_channel": request.GET.get("preferred_channel", ""),
    }
    owner = request.GET.get("owner", "")
    if owner:
        if not owner.isdigit():
            return HttpResponse("owner: expected a user id.", status=400, content_type="text/plain")
        filters["owner_id"] = int(owner)
    customers = selectors.customers_for_export(**filters)
    audit_record(
        actor=request.user,
        action="customer_list.exported",
        target_type="customer_list",
        target_id="",
        details={"filters": sorted(k for k, v in filters.items() if v)},
        request=request,
    )
    response = StreamingHttpResponse(
        selectors.customer_export_lines(customers=customers),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response


@login_required
@require_GET
def interaction_export(request):
    """Interactions as CSV, filtered with the interactions API's filters
    (customer, channel, direction, rep, team, category, occurred_after/before)."""
    _require_importer(request)
    from interactions.api import InteractionFilter
    from interactions.selectors import interaction_queryset

    filterset = InteractionFilter(
        request.GET, queryset=interaction_queryset().order_by("occurred_at", "pk")
    )
    if not filterset.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponse(problems, status=400, content_type="text/plain")
    audit_record(
        actor=request.user,
        action="interaction_list.exported",
        target_type="interaction_list",
        target_id="",
        details={"filters": sorted(k for k, v in request.GET.items() if v)},
        request=request,
    )
    response = StreamingHttpResponse(
        selectors.interaction_export_lines(interactions=filterset.qs),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="interactions.csv"'
    return response
