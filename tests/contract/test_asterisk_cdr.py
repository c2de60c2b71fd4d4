from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interactions.models import AsteriskSource, Interaction
from interactions.sources.asterisk import CdrLayout, caller_id_split, cdr_parse
from tests import factories
from tests.api_clients.helpers import bearer_client
from tests.contract.asterisk_fixtures import cdr_line

URL = "/api/v1/integrations/asterisk/cdr/"


@pytest.fixture
def pbx(db):
    AsteriskSource.objects.create(name="asterisk")  # the sample cdr.conf: 18 columns, UTC
    _, http, _ = bearer_client("interactions:write", name="pbx")
    return http


def upload(http, text: str, source: str = "asterisk"):
    return http.post(f"{URL}?source={source}", data=text.encode(), content_type="text/csv")


def test_quoted_caller_id_name_with_comma_and_doubled_quotes_parses():
    line = cdr_line(clid='"Doe, Jane "JJ"" <4155552671>')
    assert '"""Doe, Jane ""JJ""""' in line  # as cdr_csv writes it: quotes doubled

    (parsed,) = cdr_parse(line + "\n", CdrLayout(), source="asterisk:hq")

    assert parsed.errors is None
    assert parsed.record.customer_name == 'Doe, Jane "JJ"'
    assert parsed.record.external_id == "1709632800.18"
    assert parsed.record.customer_phone == "4155552671"


def test_caller_id_split_forms():
    assert caller_id_split('"Jane Doe" <4155552671>') == ("Jane Doe", "4155552671")
    assert caller_id_split("<1001>") == ("", "1001")
    assert caller_id_split("4155552671") == ("", "4155552671")


def test_upload_keeps_good_lines_and_reports_bad_ones_by_line_number(pbx):
    customer = factories.CustomerFactory()
    factories.ContactPointFactory(customer=customer, value="+14155552671")
    text = "\n".join(
        [
            cdr_line(clid='"Doe, Jane" <4155552671>', uniqueid="1.1"),
            cdr_line(answer="", billsec=0, disposition="NO ANSWER", uniqueid="1.2"),
            cdr_line(disposition="EXPLODED", uniqueid="1.3"),
            "",
            cdr_line(uniqueid="1.4", with_userfield=False),
            cdr_line(start="05/03/2026 10:00", uniqueid="1.5"),
            cdr_line(uniqueid="1.6"),
        ]
    )

    response = upload(pbx, text + "\n")

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["line"], r["status"]) for r in results] == [
        (1, "created"),
        (2, "created"),
        (3, "error"),
        (5, "error"),
        (6, "error"),
        (7, "created"),
    ]
    assert set(results[2]["errors"]) == {"disposition"}
    assert results[3]["errors"] == {"line": ["Expected 18 columns for this source, got 17."]}
    assert set(results[4]["errors"]) == {"start"}
    assert sorted(Interaction.objects.values_list("external_id", flat=True)) == [
        "1.1",
        "1.2",
        "1.6",
    ]
    unanswered = Interaction.objects.get(external_id="1.2")
    assert (unanswered.outcome, unanswered.duration_seconds) == ("no_answer", 0)
    assert unanswered.customer_id == customer.pk
    assert unanswered.matter_id is not None  # joins the customer's matters like logged calls
    assert unanswered.source == "asterisk:asterisk"


def test_reupload_changes_nothing(pbx):
    text = cdr_line(uniqueid="9.1") + "\n" + cdr_line(uniqueid="9.2") + "\n"

    upload(pbx, text)
    second = upload(pbx, text).json()["results"]

    assert [r["status"] for r in second] == ["unchanged", "unchanged"]
    assert Interaction.objects.count() == 2


def test_extensions_are_not_customer_phones(pbx):
    factories.ContactPointFactory(value="+14155551001")
    internal = cdr_line(src="1001", dst="1002", clid='"Desk" <1001>', uniqueid="2.1")
    outbound = cdr_line(src="1001", dst="4155550100", clid='"Desk" <1001>', uniqueid="2.2")
    callee = factories.CustomerFactory()
    factories.ContactPointFactory(customer=callee, value="+14155550100")

    upload(pbx, internal + "\n" + outbound + "\n")

    rows = {i.external_id: i for i in Interaction.objects.all()}
    assert rows["2.1"].customer_id is None
    assert (rows["2.2"].direction, rows["2.2"].customer_id) == ("outbound", callee.pk)


def test_source_layout_and_time_zone_settings(pbx):
    AsteriskSource.objects.create(
        name="hq",
        log_unique_id=True,
        log_user_field=True,
        new_cdr_columns=True,
        time_zone="America/New_York",
    )
    line = cdr_line(
        uniqueid="3.1", new_columns=("", "1709632800.17", 42), start="2026-07-01 09:30:00"
    )

    results = upload(pbx, line + "\n", source="hq").json()["results"]

    assert results[0]["status"] == "created"
    row = Interaction.objects.get()
    assert row.source == "asterisk:hq"
    assert row.occurred_at == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)  # EDT is UTC-4


def test_sixteen_column_layout_without_uniqueid_uses_a_stable_key(pbx):
    AsteriskSource.objects.create(name="old", log_unique_id=False, log_user_field=False)
    line = cdr_line(with_uniqueid=False, with_userfield=False)

    first = upload(pbx, line + "\n", source="old").json()["results"]
    second = upload(pbx, line + "\n", source="old").json()["results"]

    assert (first[0]["status"], second[0]["status"]) == ("created", "unchanged")
    assert Interaction.objects.get().external_id.startswith("sha256:")


def test_unterminated_quote_is_reported_not_a_500(pbx):
    response = upload(pbx, cdr_line(uniqueid="4.1") + '\n"unterminated,\n')

    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "created"
    assert response.json()["results"][-1]["status"] == "error"


def test_empty_body_is_400(pbx):
    assert upload(pbx, "  \n").status_code == 400


def test_oversized_upload_is_400(pbx, monkeypatch):
    monkeypatch.setattr("interactions.sync_api.MAX_CDR_BYTES", 100)

    response = upload(pbx, cdr_line() + "\n")

    assert response.status_code == 400
    assert Interaction.objects.count() == 0


def test_unknown_charset_is_400(pbx):
    response = pbx.post(URL, data=cdr_line().encode(), content_type="text/csv; charset=x-nonsense")

    assert response.status_code == 400


def _answered_call() -> str:
    return cdr_line(uniqueid="1709632800.18") + "\n"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/csv",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/octet-stream",
        # curl --data-binary @Master.csv without -H: the raw file with a form content type
        "application/x-www-form-urlencoded",
    ],
)
def test_raw_file_body_as_pbx_admins_send_it(pbx, content_type):
    response = pbx.post(URL, data=_answered_call().encode(), content_type=content_type)

    assert response.status_code == 200, response.content
    assert [r["status"] for r in response.json()["results"]] == ["created"]
    assert Interaction.objects.filter(external_id="1709632800.18").count() == 1


def test_multipart_file_upload_as_curl_f_sends_it(pbx):
    upload = SimpleUploadedFile("Master.csv", _answered_call().encode(), content_type="text/csv")

    response = pbx.post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 200, response.content
    assert [r["status"] for r in response.json()["results"]] == ["created"]
    assert Interaction.objects.filter(external_id="1709632800.18").count() == 1


def test_multipart_with_two_files_is_400(pbx):
    files = {
        "file": SimpleUploadedFile("a.csv", _answered_call().encode()),
        "other": SimpleUploadedFile("b.csv", _answered_call().encode()),
    }

    response = pbx.post(URL, files, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert Interaction.objects.count() == 0


def test_unconfigured_source_is_refused_saying_how_to_configure_it(pbx):
    response = upload(pbx, _answered_call(), source="branch-office")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "source_not_configured"
    message = body["errors"]["source"][0]
    assert "branch-office" in message
    assert "Asterisk sources" in message
    assert "time zone" in message
    assert "loguniqueid" in message
    assert Interaction.objects.count() == 0
