"""Import pages, the error report download and the streamed exports."""

import csv
import io
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from crm import services as crm_services
from crm.models import Customer, TeamMembership
from spreadsheets import services
from spreadsheets.models import CustomerImport
from tests.factories import InteractionFactory, TeamMembershipFactory, UserFactory

FILE = (
    b"First name,Last name,Cell,E-mail\n"
    b"Ann,Lee,415 555 0100,ann@example.com\n"
    b"Bob,Ray,12,bob@example.com\n"
    b"Cy,Twombly,415 555 0102,\n"
)


@pytest.fixture
def supervisor_client(client, db):
    user = TeamMembershipFactory(role=TeamMembership.Role.SUPERVISOR).user
    client.force_login(user)
    return client


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def upload(client, content: bytes = FILE, **data):
    return client.post(
        reverse("spreadsheets:imports"),
        {"file": SimpleUploadedFile("people.csv", content, "text/csv"), **data},
    )


def test_reps_may_not_import_or_export(client, db):
    client.force_login(TeamMembershipFactory(role=TeamMembership.Role.REP).user)
    assert client.get(reverse("spreadsheets:imports")).status_code == 403
    assert upload(client).status_code == 403
    assert client.get(reverse("spreadsheets:customer-export")).status_code == 403
    assert CustomerImport.objects.count() == 0


def test_upload_mapping_dry_run_and_import(supervisor_client, django_assert_max_num_queries):
    response = upload(supervisor_client)
    customer_import = CustomerImport.objects.get()
    assert response.status_code == 302
    assert customer_import.mapping == ["first_name", "last_name", "phone_mobile", "email_other"]
    detail = reverse("spreadsheets:import-detail", args=[customer_import.pk])
    with django_assert_max_num_queries(12):
        page = supervisor_client.get(detail)
    assert 'value="phone_mobile" selected' in page.content.decode()
    mapping = {f"column_{i}": t for i, t in enumerate(customer_import.mapping)}
    response = supervisor_client.post(
        reverse("spreadsheets:import-mapping", args=[customer_import.pk]), mapping
    )
    assert response.status_code == 302
    page = supervisor_client.get(detail).content.decode()
    assert '<td id="count-created">2</td>' in page
    assert '<td id="count-error">1</td>' in page
    assert "Cell: &#x27;12&#x27;" in page
    assert Customer.objects.count() == 0
    report = supervisor_client.get(reverse("spreadsheets:import-errors", args=[customer_import.pk]))
    assert read_csv(report)[1][:5] == ["Bob", "Ray", "12", "bob@example.com", "3"]
    supervisor_client.post(reverse("spreadsheets:import-run", args=[customer_import.pk]))
    customer_import.refresh_from_db()
    assert customer_import.status == "done"
    assert Customer.objects.count() == 2
    assert customer_import.dry_run_summary["created"] == 2


def test_a_mapping_without_a_name_is_refused_before_the_dry_run(supervisor_client):
    upload(supervisor_client)
    customer_import = CustomerImport.objects.get()
    response = supervisor_client.post(
        reverse("spreadsheets:import-mapping", args=[customer_import.pk]),
        {"column_0": "", "column_1": "", "column_2": "phone_mobile", "column_3": "email_other"},
    )
    assert response.status_code == 400
    assert "name" in response.content.decode()


def test_an_unreadable_file_is_a_form_error_not_a_500(supervisor_client):
    response = upload(supervisor_client, b"\x00\x01\x02")
    assert response.status_code == 400
    assert "not a CSV file" in response.content.decode()


def test_customer_export_is_streamed_and_filtered_like_the_list(supervisor_client):
    crm_services.customer_create(full_name="Ann Lee", phones=["+14155550100"])
    crm_services.customer_create(full_name="Bob Ray", emails=["bob@example.com"])
    response = supervisor_client.get(reverse("spreadsheets:customer-export"), {"q": "bob"})
    assert response.streaming
    rows = read_csv(response)
    assert rows[0][:3] == ["ID", "Full name", "Preferred name"]
    assert [row[1] for row in rows[1:]] == ["Bob Ray"]
    assert AuditEntry.objects.filter(action="customer_list.exported").count() == 1
    everyone = read_csv(supervisor_client.get(reverse("spreadsheets:customer-export")))
    assert sorted(row[1] for row in everyone[1:]) == ["Ann Lee", "Bob Ray"]


def test_interaction_export_uses_the_api_filters(supervisor_client):
    phone = InteractionFactory(channel="phone", summary="Called, about the bill\nagain")
    InteractionFactory(channel="email")
    response = supervisor_client.get(
        reverse("spreadsheets:interaction-export"), {"channel": "phone"}
    )
    rows = read_csv(response)
    assert rows[0][:3] == ["Source", "External ID", "Customer ID"]
    assert len(rows) == 2
    assert rows[1][2] == str(phone.customer_id)
    assert rows[1][-1] == "Called, about the bill\nagain"
    bad = supervisor_client.get(reverse("spreadsheets:interaction-export"), {"channel": "fax"})
    assert bad.status_code == 400
    assert "channel" in bad.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_large_file_runs_in_a_real_celery_worker_with_progress(
    celery_processes, client, settings
):
    """Above IMPORT_INLINE_MAX_ROWS the page enqueues; a real worker does the work."""
    settings.IMPORT_INLINE_MAX_ROWS = 10
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    rows = "".join(f"P{i},415 555 {1000 + i}\n" for i in range(1500))
    upload(client, ("Name,Phone\n" + rows + "Broken,1\n").encode())
    customer_import = CustomerImport.objects.get()
    worker = celery_processes("worker")
    client.post(
        reverse("spreadsheets:import-mapping", args=[customer_import.pk]),
        {"column_0": "full_name", "column_1": "phone_other"},
    )
    seen_progress = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        fragment = client.get(reverse("spreadsheets:import-progress", args=[customer_import.pk]))
        customer_import.refresh_from_db()
        seen_progress.add(customer_import.rows_done)
        if customer_import.status == "checked":
            assert fragment["HX-Refresh"] == "true"
            break
        assert 'hx-trigger="every 1s"' in fragment.content.decode()
        time.sleep(0.2)
    else:
        pytest.fail(f"dry run not done; worker log:\n{worker.output()[-3000:]}")
    assert (customer_import.created_count, customer_import.error_count) == (1500, 1)
    client.post(reverse("spreadsheets:import-run", args=[customer_import.pk]))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        customer_import.refresh_from_db()
        if customer_import.status == "done":
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"import not done; worker log:\n{worker.output()[-3000:]}")
    assert Customer.objects.count() == 1500
    assert "customer_import_process" in worker.output()


def test_exports_take_a_fixed_number_of_queries(supervisor_client, django_assert_max_num_queries):
    for index in range(40):
        customer = crm_services.customer_create(
            full_name=f"Person {index}",
            phones=[f"+1415555{index:04d}"],
            emails=[f"p{index}@example.com"],
            tags=["vip"],
        )
        InteractionFactory(customer=customer)
    with django_assert_max_num_queries(12):
        customers = read_csv(supervisor_client.get(reverse("spreadsheets:customer-export")))
    with django_assert_max_num_queries(12):
        interactions = read_csv(supervisor_client.get(reverse("spreadsheets:interaction-export")))
    assert len(customers) == 41
    assert len(interactions) == 41
    assert all(row[3].startswith("+1415555") for row in interactions[1:])


def test_interaction_history_upload_dry_run_then_import(supervisor_client):
    from interactions.models import Interaction

    crm_services.customer_create(full_name="Ann Lee", phones=["+14155550100"])
    content = (
        b"Date,Phone,Type,Direction,Notes\n"
        b"05/03/2025 14:30,415 555 0100,Call,In,Asked about the bill\n"
        b"06/03/2025,415 555 0100,Fax,In,\n"
    )
    url = reverse("spreadsheets:interaction-import")

    def post(dry_run: bool):
        data = {"file": SimpleUploadedFile("calls.csv", content, "text/csv")}
        if dry_run:
            data["dry_run"] = "on"
        return supervisor_client.post(url, data).content.decode()

    page = post(dry_run=True)
    assert '<td id="count-created">1</td>' in page
    assert '<td id="count-error">1</td>' in page
    assert Interaction.objects.count() == 0
    post(dry_run=False)
    assert Interaction.objects.get().customer.full_name == "Ann Lee"
    again = post(dry_run=False)
    assert '<td id="count-unchanged">1</td>' in again
    assert Interaction.objects.count() == 1


def test_an_expired_import_says_so_and_offers_no_error_report(supervisor_client):
    upload(supervisor_client, b"Name,Phone\nBad Phone,12\n")
    customer_import = CustomerImport.objects.get()
    supervisor_client.post(
        reverse("spreadsheets:import-mapping", args=[customer_import.pk]),
        {"column_0": "name", "column_1": "phone"},
    )
    CustomerImport.objects.filter(pk=customer_import.pk).update(
        updated_at=timezone.now() - timedelta(days=400)
    )
    assert services.customer_imports_expire() == 1

    detail = reverse("spreadsheets:import-detail", args=[customer_import.pk])
    page = supervisor_client.get(detail).content.decode()
    assert "row details were removed" in page
    assert "error-report" not in page
    assert "Bad Phone" not in page
    report = supervisor_client.get(reverse("spreadsheets:import-errors", args=[customer_import.pk]))
    assert report.status_code == 410
    run = supervisor_client.post(reverse("spreadsheets:import-run", args=[customer_import.pk]))
    assert run.status_code == 400
    assert "upload it again" in run.content.decode()
