"""A supervisor uploads last year's spreadsheet, reads the dry run, imports, fixes
the reported rows, uploads again, and has every customer exactly once.

The file is above IMPORT_INLINE_MAX_ROWS, so a real Celery worker runs each
phase and the page follows it by htmx polling."""

import pytest

from crm.models import Customer, TeamMembership
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SPREADSHEET = (
    "\ufeffFirst name;Last name;Mobile;E-mail;Last contact\r\n"
    "Siobhán;O'Brien;0871234567;shiv@example.ie;05/03/2025\r\n"
    "Jürgen;Müller;+49 171 2345678;;31/12/2025\r\n"
    "Ann;Lee;12;ann@example.com;01/01/2025\r\n"
    "Bob;Ray;087 765 4321;bob@example;\r\n"
    "Siobhán;O'Brien;+353 87 123 4567;;\r\n"
).encode()


def test_upload_dry_run_import_fix_and_upload_again(
    page, login_as, screenshot, celery_processes, settings, tmp_path
):
    settings.IMPORT_INLINE_MAX_ROWS = 2
    supervisor = TeamMembershipFactory(
        user=UserFactory(username="sam"), role=TeamMembership.Role.SUPERVISOR
    ).user
    worker = celery_processes("worker")
    login_as(page, supervisor)

    page.click("text=Import / export")
    page.set_input_files(
        "input[name=file]",
        {"name": "customers-2025.csv", "mimeType": "text/csv", "buffer": SPREADSHEET},
    )
    page.fill("input[name=region]", "IE")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")
    assert page.input_value("#column_0") == "first_name"
    assert page.input_value("#column_2") == "phone_mobile"
    assert page.input_value("#column_4") == "last_activity_at"
    screenshot(page, "import-mapping")

    page.click("#dry-run")
    page.wait_for_selector("#summary", timeout=60_000)
    assert page.text_content("#count-created") == "2", worker.output()[-2000:]
    assert page.text_content("#count-matched") == "1"  # line 6 is line 2's person
    assert page.text_content("#count-updated") == "0"
    assert page.text_content("#count-error") == "2"
    errors = page.text_content("#error-rows")
    assert "12" in errors
    assert "bob@example" in errors
    assert Customer.objects.count() == 0
    screenshot(page, "import-dry-run")

    with page.expect_download() as download:
        page.click("#error-report")
    report = tmp_path / "errors.csv"
    download.value.save_as(report)
    fixed = report.read_text(encoding="utf-8-sig")
    assert "Line,Errors" in fixed.splitlines()[0]

    page.click("#run-import")
    page.wait_for_selector("#import-done", timeout=60_000)
    assert Customer.objects.count() == 2
    screenshot(page, "import-done")

    # The user fixes the two rows of the error report and uploads it.
    fixed = fixed.replace(";12;", ";086 111 2222;").replace("bob@example", "bob@example.ie")
    fixed = fixed.replace(",12,", ",086 111 2222,")
    page.click("text=Import / export")
    page.set_input_files(
        "input[name=file]",
        {"name": "errors-fixed.csv", "mimeType": "text/csv", "buffer": fixed.encode()},
    )
    page.fill("input[name=region]", "IE")
    page.click("#upload-form button[type=submit]")
    page.click("#dry-run")
    page.wait_for_selector("#summary", timeout=60_000)
    assert page.text_content("#count-created") == "2"
    assert page.text_content("#count-error") == "0"
    page.click("#run-import")
    page.wait_for_selector("#import-done", timeout=60_000)

    # And the original file once more: nobody twice.
    page.click("text=Import / export")
    page.set_input_files(
        "input[name=file]",
        {"name": "customers-2025.csv", "mimeType": "text/csv", "buffer": SPREADSHEET},
    )
    page.fill("input[name=region]", "IE")
    page.click("#upload-form button[type=submit]")
    page.click("#dry-run")
    page.wait_for_selector("#summary", timeout=60_000)
    assert page.text_content("#count-created") == "0"
    assert Customer.objects.count() == 4
    names = sorted(Customer.objects.values_list("full_name", flat=True))
    assert names == ["Ann Lee", "Bob Ray", "Jürgen Müller", "Siobhán O'Brien"]
