"""Customer CSV import on real PostgreSQL, with the files people actually bring."""

import csv
import io
from datetime import UTC, datetime, time

import pytest
from django.core.management import call_command

from core.models import AuditEntry
from crm import services as crm_services
from crm.models import ContactPoint, Customer, ProfileFact
from spreadsheets import selectors, services
from spreadsheets.models import CustomerImport, ImportRow

pytestmark = pytest.mark.django_db


def run_import(content: bytes, *, dry_run: bool = False, mapping=None, region: str = "US", **kw):
    customer_import = services.customer_import_upload(
        file_name="customers.csv", content=content, actor=None, region=region, **kw
    )
    if mapping is not None:
        services.customer_import_set_mapping(customer_import=customer_import, mapping=mapping)
    services.customer_import_start(customer_import_id=customer_import.pk, dry_run=dry_run)
    return services.customer_import_process(customer_import_id=customer_import.pk)


def outcomes(customer_import: CustomerImport) -> dict[int, str]:
    return dict(
        ImportRow.objects.filter(
            customer_import=customer_import, phase=customer_import.phase
        ).values_list("line", "outcome")
    )


def errors(customer_import: CustomerImport) -> dict[int, list[str]]:
    return dict(
        ImportRow.objects.filter(
            customer_import=customer_import, phase=customer_import.phase, outcome="error"
        ).values_list("line", "messages")
    )


def phones_of(customer: Customer) -> set[str]:
    return set(customer.contact_points.filter(kind="phone").values_list("value", flat=True))


def test_utf8_bom_excel_export_with_crlf():
    content = (
        "\ufeffFirst name,Last name,E-mail,Phone,Time zone,Language,Notes\r\n"
        "Jürgen,Müller,JM@Example.de,+49 30 1234567,Europe/Berlin,de-de,Prefers mornings\r\n"
        "Zoë,Ångström,zoe@example.se,+46 8 123 456 78,Europe/Stockholm,sv,\r\n"
    ).encode()
    result = run_import(content)
    assert result.encoding == "utf-8-sig"
    assert result.header[0] == "First name"
    assert result.mapping[:7] == [
        "first_name",
        "last_name",
        "email_other",
        "phone_other",
        "time_zone",
        "preferred_language",
        "notes",
    ]
    assert (result.created_count, result.error_count) == (2, 0)
    jurgen = Customer.objects.get(full_name="Jürgen Müller")
    assert jurgen.preferred_language == "de-DE"
    assert jurgen.time_zone == "Europe/Berlin"
    assert jurgen.search_name == "jurgen muller"
    assert phones_of(jurgen) == {"+49301234567"}
    assert jurgen.contact_points.get(kind="email").value == "jm@example.de"
    assert jurgen.contact_points.get(kind="email").is_primary
    assert list(jurgen.facts.values_list("text", flat=True)) == ["Prefers mornings"]


def test_cp1252_file_from_excel_on_windows():
    content = "Name;E-mail\r\nRenée Lefèvre;renee@example.fr\r\n".encode("cp1252")
    result = run_import(content)
    assert result.encoding == "cp1252"
    assert result.delimiter == ";"
    assert Customer.objects.get().full_name == "Renée Lefèvre"


def test_semicolon_file_with_day_first_dates():
    content = (
        b"Name;Mobile;Last contact;Quiet hours start;Quiet hours end\n"
        b"Anna Schmidt;0171 2345678;05/03/2026;21:00;08:00\n"
        b"Bernd Vogel;+49 171 2345679;2026-01-31;;\n"
        b"Carla Ruiz;0171 2345670;31/02/2026;;\n"
    )
    result = run_import(content, region="DE", time_zone="Europe/Berlin")
    assert result.delimiter == ";"
    anna = Customer.objects.get(full_name="Anna Schmidt")
    assert anna.last_activity_at == datetime(2026, 3, 4, 23, 0, tzinfo=UTC)  # midnight in Berlin
    assert (anna.quiet_hours_start, anna.quiet_hours_end) == (time(21), time(8))
    assert anna.contact_points.get().label == "mobile"
    assert phones_of(anna) == {"+491712345678"}
    assert Customer.objects.get(full_name="Bernd Vogel").last_activity_at.date().isoformat() == (
        "2026-01-30"
    )
    assert list(errors(result)) == [4]
    assert "31/02/2026" in errors(result)[4][0]


def test_quoted_fields_with_commas_and_newlines_keep_line_numbers():
    content = (
        b"Name,Address,Notes,Phone\n"
        b'"Smith, John","1 Main St\nSpringfield, IL","Likes golf, tennis\nHas two kids",'
        b"415 555 0100\n"
        b'"Doe, Jane","2 Side St",,not a phone\n'
    )
    result = run_import(content)
    john = Customer.objects.get(full_name="Smith, John")
    assert john.contact_points.get(kind="address").value == "1 Main St\nSpringfield, IL"
    assert set(john.facts.values_list("text", flat=True)) == {"Likes golf, tennis", "Has two kids"}
    # The first record spans lines 2-4, so the second starts on line 5.
    assert list(errors(result)) == [5]
    assert "not a phone" in errors(result)[5][0]


def test_phone_column_mixing_national_and_international_formats():
    content = (
        b"Name,Phone\n"
        b"A One,(415) 555-0100\n"
        b"B Two,+1 415 555 0101\n"
        b"C Three,415.555.0102\n"
        b"D Four,+44 20 7946 0958\n"
        b"E Five,1-415-555-0104\n"
        b"F Six,415-555-0105 ext. 12\n"
    )
    result = run_import(content)
    assert result.error_count == 0
    values = set(ContactPoint.objects.values_list("value", "extension"))
    assert values == {
        ("+14155550100", ""),
        ("+14155550101", ""),
        ("+14155550102", ""),
        ("+442079460958", ""),
        ("+14155550104", ""),
        ("+14155550105", "12"),
    }


def test_duplicate_rows_inside_one_file_are_one_customer():
    content = (
        b"Name,Phone,E-mail,Organisation\n"
        b"Ann Lee,415 555 0100,ann@example.com,\n"
        b"Ann Lee,415 555 0100,ann@example.com,\n"
        b"Ann Lee,+1 (415) 555-0100,,Acme\n"
        b"Ann Lee,,ANN@example.com,\n"
    )
    dry = run_import(content, dry_run=True)
    assert outcomes(dry) == {2: "created", 3: "matched", 4: "updated", 5: "matched"}
    assert Customer.objects.count() == 0
    result = run_import(content)
    assert outcomes(result) == {2: "created", 3: "matched", 4: "updated", 5: "matched"}
    ann = Customer.objects.get()
    assert ann.organisation == "Acme"
    assert ann.contact_points.count() == 2


def test_empty_trailing_lines_are_not_rows():
    content = b"Name,Email\nA Person,a@example.com\n\n\n"
    result = run_import(content)
    assert result.rows_total == 1
    assert (result.created_count, result.error_count) == (1, 0)


def test_reimporting_the_same_file_changes_nothing():
    content = (
        b"Name,Phone,E-mail,Tags,Notes,Last contact\n"
        b"Ann Lee,415 555 0100,ann@example.com,vip,Has a dog,01/02/2026\n"
        b"Bob Ray,415 555 0101,,,\n"
        b"Cy Twombly,,,,Met at the fair\n"
    )
    run_import(content)
    before = (
        list(Customer.objects.order_by("pk").values_list("pk", "updated_at")),
        list(ContactPoint.objects.order_by("pk").values_list("pk", "value")),
        ProfileFact.objects.count(),
        AuditEntry.objects.filter(action__startswith="customer.").count(),
    )
    again = run_import(content)
    assert (again.created_count, again.updated_count, again.matched_count) == (0, 0, 3)
    after = (
        list(Customer.objects.order_by("pk").values_list("pk", "updated_at")),
        list(ContactPoint.objects.order_by("pk").values_list("pk", "value")),
        ProfileFact.objects.count(),
        AuditEntry.objects.filter(action__startswith="customer.").count(),
    )
    assert after == before


def test_three_bad_rows_are_reported_by_line_and_the_rest_imported():
    content = (
        b"Name,Phone,E-mail,Time zone\n"
        b"Good One,415 555 0100,one@example.com,UTC\n"
        b"Bad Phone,12,,UTC\n"
        b"Good Two,415 555 0102,,America/Chicago\n"
        b"Bad Email,,not-an-email,UTC\n"
        b"Good Three,,three@example.com,\n"
        b"Bad Zone,415 555 0105,,Mars/Olympus\n"
        b"Good Four,415 555 0106,,\n"
    )
    result = run_import(content)
    assert (result.created_count, result.error_count) == (4, 3)
    assert Customer.objects.count() == 4
    reported = errors(result)
    assert list(reported) == [3, 5, 7]
    assert "Phone" in reported[3][0]
    assert "'12'" in reported[3][0]
    assert "E-mail" in reported[5][0]
    assert "Time zone" in reported[7][0]
    report = "".join(selectors.import_error_report_lines(customer_import=result))
    rows = list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))
    assert rows[0] == ["Name", "Phone", "E-mail", "Time zone", "Line", "Errors"]
    assert [row[:5] for row in rows[1:]] == [
        ["Bad Phone", "12", "", "UTC", "3"],
        ["Bad Email", "", "not-an-email", "UTC", "5"],
        ["Bad Zone", "415 555 0105", "", "Mars/Olympus", "7"],
    ]
    # The user fixes the report and imports it: every customer exactly once.
    fixed = report.replace("Bad Phone,12", "Bad Phone,415 555 0103").replace(
        "not-an-email", "bad@example.com"
    )
    fixed = fixed.replace("Mars/Olympus", "Europe/Paris")
    second = run_import(fixed.encode())
    assert (second.created_count, second.error_count) == (3, 0)
    again = run_import(content)
    assert (again.created_count, again.matched_count, again.error_count) == (0, 4, 3)
    assert Customer.objects.count() == 7


def test_dry_run_reports_what_the_run_does_and_writes_nothing():
    content = b"Name,Phone\nKnown Person,415 555 0100\nNew Person,415 555 0101\nBroken,1\n"
    crm_services.customer_create(full_name="Known Person", phones=["+14155550100"])
    dry = run_import(content, dry_run=True)
    assert outcomes(dry) == {2: "matched", 3: "created", 4: "error"}
    assert Customer.objects.count() == 1
    assert dry.status == "checked"
    assert dry.dry_run_summary["created"] == 1
    services.customer_import_start(customer_import_id=dry.pk, dry_run=False)
    run = services.customer_import_process(customer_import_id=dry.pk)
    assert outcomes(run) == {2: "matched", 3: "created", 4: "error"}
    assert run.status == "done"
    assert Customer.objects.count() == 2
    assert AuditEntry.objects.filter(action="customer_import.completed").count() == 1
    created = AuditEntry.objects.get(action="customer.created", details__via="csv_import")
    assert created.customer_id == Customer.objects.get(full_name="New Person").pk


def test_row_naming_two_existing_customers_is_an_error_not_a_guess():
    crm_services.customer_create(full_name="A", phones=["+14155550100"])
    crm_services.customer_create(full_name="B", emails=["b@example.com"])
    result = run_import(b"Name,Phone,E-mail\nA or B,415 555 0100,b@example.com\n")
    assert list(errors(result)) == [2]
    assert "more than one existing customer" in errors(result)[2][0]


def test_update_adds_contact_points_without_a_second_primary():
    customer = crm_services.customer_create(full_name="Ann", phones=["+14155550100"])
    run_import(b"Name,Phone,Mobile,Pronouns\nAnn,415 555 0100,415 555 0199,she/her\n")
    customer.refresh_from_db()
    assert customer.pronouns == "she/her"
    assert list(
        customer.contact_points.order_by("value").values_list("value", "label", "is_primary")
    ) == [("+14155550100", "other", True), ("+14155550199", "mobile", False)]


def test_a_run_cut_short_resumes_from_its_checkpoint(monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 2)
    content = "Name,Phone\n" + "".join(f"P{i},415 555 01{i:02d}\n" for i in range(7))
    upload = services.customer_import_upload(
        file_name="f.csv", content=content.encode(), actor=None
    )
    services.customer_import_start(customer_import_id=upload.pk, dry_run=False)
    real_write = services._write
    calls = []

    def failing_write(batch, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        real_write(batch, **kwargs)

    monkeypatch.setattr(services, "_write", failing_write)
    with pytest.raises(RuntimeError):
        services.customer_import_process(customer_import_id=upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.rows_done) == ("failed", 4)
    assert Customer.objects.count() == 4  # two whole batches; the third left nothing
    services.customer_import_start(customer_import_id=upload.pk, dry_run=False)
    done = services.customer_import_process(customer_import_id=upload.pk)
    assert (done.status, done.rows_done, done.created_count) == ("done", 7, 7)
    assert Customer.objects.count() == 7


def test_round_trip_export_then_import_into_an_empty_database():
    ann = crm_services.customer_create(
        full_name="Ann Lee",
        preferred_name="Annie",
        pronouns="she/her",
        time_zone="Europe/London",
        preferred_language="en-GB",
        preferred_channel="email",
        quiet_hours_start=time(21),
        quiet_hours_end=time(8),
        organisation="Acme, Inc.",
        organisation_role="CFO",
        tags=["vip", "golf"],
        contact_points=[
            {"kind": "phone", "value": "+442079460958", "label": "work", "is_primary": True},
            {"kind": "phone", "value": "+447911123456", "label": "mobile"},
            {"kind": "phone", "value": "+14155550100 ext. 7", "label": "other"},
            {"kind": "email", "value": "ann@example.com", "is_primary": True},
            {"kind": "email", "value": "ann@work.example", "label": "work"},
            {"kind": "address", "value": "1 Main St\nLondon", "label": "home"},
        ],
    )
    crm_services.customer_create(full_name="Bob Ray", emails=["bob@example.com"])
    crm_services.customer_create(full_name="Cy Nophone")
    ProfileFact.objects.create(customer=ann, text="Has a dog", recorded_at=datetime.now(UTC))

    def snapshot():
        customers = {}
        for customer in Customer.objects.all():
            customers[customer.full_name] = (
                tuple(
                    getattr(customer, f)
                    for f in (
                        "preferred_name",
                        "pronouns",
                        "time_zone",
                        "preferred_language",
                        "preferred_channel",
                        "quiet_hours_start",
                        "quiet_hours_end",
                        "organisation",
                        "organisation_role",
                    )
                ),
                set(
                    customer.contact_points.values_list(
                        "kind", "label", "value", "extension", "is_primary"
                    )
                ),
                set(customer.tags.values_list("name", flat=True)),
                set(customer.facts.values_list("text", flat=True)),
            )
        return customers

    before = snapshot()
    exported = "".join(
        selectors.customer_export_lines(customers=selectors.customers_for_export())
    ).encode()
    Customer.objects.all().delete()
    result = run_import(exported)
    assert (result.created_count, result.error_count) == (3, 0)
    assert snapshot() == before
    again = run_import(exported)
    assert (again.created_count, again.updated_count, again.matched_count) == (0, 0, 3)


def test_import_customers_command(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Full name;Cell;Fax\nAnn Lee;415 555 0100;x\nBad;1;\n", encoding="utf-8")
    out = io.StringIO()
    err = io.StringIO()
    call_command(
        "import_customers",
        str(path),
        "--mapping",
        "Cell=phone_mobile",
        "--dry-run",
        stdout=out,
        stderr=err,
    )
    assert "1 would be created" in out.getvalue()
    assert "line 3:" in out.getvalue()
    assert "2/2 rows" in err.getvalue()
    assert Customer.objects.count() == 0
    report = tmp_path / "errors.csv"
    call_command(
        "import_customers",
        str(path),
        "--mapping",
        "Cell=phone_mobile",
        "--errors",
        str(report),
        stdout=out,
        stderr=err,
    )
    assert Customer.objects.get().contact_points.get().label == "mobile"
    assert "Bad;1" not in report.read_text()  # the report is comma-separated
    assert "Bad,1,,3," in report.read_text(encoding="utf-8-sig")


def test_duplicate_rows_that_disagree_are_reported_so_a_reimport_changes_nothing(monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 2)  # the duplicates land in different batches
    content = (
        b"Name,Phone,Time zone,Organisation\n"
        b"Ann Lee,415 555 0100,,\n"
        b"Ann Lee,415 555 0100,Europe/Paris,\n"
        b"Ann Lee,415 555 0100,Europe/Berlin,Acme\n"
    )
    first = run_import(content)
    assert outcomes(first) == {2: "created", 3: "updated", 4: "error"}
    assert "Line 2 is the same customer with a different Time zone" in errors(first)[4][0]
    assert Customer.objects.get().time_zone == "Europe/Paris"
    again = run_import(content)
    assert outcomes(again) == {2: "matched", 3: "matched", 4: "error"}


def test_export_defuses_formulas_and_the_import_reads_them_back():
    crm_services.customer_create(
        full_name='=HYPERLINK("http://evil.example","Click")',
        organisation="@SUM(A1)",
        phones=["+14155550100 ext. 7"],
    )
    exported = "".join(selectors.customer_export_lines(customers=selectors.customers_for_export()))
    row = next(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert row["Full name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["Organisation"] == "'@SUM(A1)"
    assert row["Primary phone"] == "'+14155550100 ext. 7"
    Customer.objects.all().delete()
    run_import(exported.encode())
    customer = Customer.objects.get()
    assert customer.full_name == '=HYPERLINK("http://evil.example","Click")'
    assert customer.organisation == "@SUM(A1)"
    assert customer.contact_points.get().extension == "7"


def test_a_run_whose_worker_vanished_can_be_resumed_after_it_stalls(monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 2)
    content = "Name,Phone\n" + "".join(f"P{i},415 555 02{i:02d}\n" for i in range(5))
    upload = services.customer_import_upload(
        file_name="f.csv", content=content.encode(), actor=None
    )
    services.customer_import_start(customer_import_id=upload.pk, dry_run=False)
    calls = []
    real_write = services._write

    def killed_after_one_batch(batch, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # not an Exception: no "failed" status is written
        real_write(batch, **kwargs)

    monkeypatch.setattr(services, "_write", killed_after_one_batch)
    with pytest.raises(SystemExit):
        services.customer_import_process(customer_import_id=upload.pk)
    monkeypatch.setattr(services, "_write", real_write)
    upload.refresh_from_db()
    assert (upload.status, upload.rows_done) == ("importing", 2)
    with pytest.raises(services.ImportRefused):  # still looks alive
        services.customer_import_start(customer_import_id=upload.pk, dry_run=False)
    CustomerImport.objects.filter(pk=upload.pk).update(
        updated_at=upload.updated_at - services.STALLED_AFTER
    )
    services.customer_import_start(customer_import_id=upload.pk, dry_run=False)
    done = services.customer_import_process(customer_import_id=upload.pk)
    assert (done.status, done.rows_done, done.created_count) == ("done", 5, 5)
    assert Customer.objects.count() == 5


def test_files_and_failed_rows_expire_after_the_retention_period(settings):
    """An abandoned dry run and a finished import with a failed row both lose the
    file and the rows' cells after IMPORT_RETENTION_DAYS; a recent one keeps them."""
    settings.IMPORT_RETENTION_DAYS = 30
    content = b"Name,Phone\nAda Lovelace,415 555 0100\nBad Phone,12\n"
    finished = run_import(content)
    abandoned = run_import(b"Name,Phone\nGrace Hopper,415 555 0199\n", dry_run=True)
    recent = run_import(b"Name,Phone\nRecent Person,12\n", dry_run=True)
    assert errors(finished)
    assert bytes(abandoned.content)
    now = datetime.now(tz=UTC)
    old = now.replace(year=now.year - 1)
    CustomerImport.objects.filter(pk__in=[finished.pk, abandoned.pk]).update(updated_at=old)

    assert services.customer_imports_expire(now=now) == 2
    assert services.customer_imports_expire(now=now) == 0  # idempotent

    for expired in (finished, abandoned):
        expired.refresh_from_db()
        assert expired.status == CustomerImport.Status.EXPIRED
        assert bytes(expired.content) == b""
        assert not ImportRow.objects.filter(customer_import=expired).exists()
        assert "removed after 30 days" in expired.message
    assert finished.created_count == 1
    assert finished.error_count == 1
    recent.refresh_from_db()
    assert recent.status == CustomerImport.Status.CHECKED
    assert ImportRow.objects.filter(customer_import=recent, outcome="error").exists()
    # Nothing left anywhere quotes the failed row's values.
    assert not ImportRow.objects.filter(cells__contains=["Bad Phone"]).exists()
    # An expired dry run cannot be run: the file is gone.
    with pytest.raises(services.ImportRefused, match="upload it again"):
        services.customer_import_start(customer_import_id=abandoned.pk, dry_run=False)
