"""Schemathesis over the whole OpenAPI schema with every check it has, as `st run
--checks all` runs it: all phases (schema examples, coverage, fuzzing, stateful),
driven in-process through schemathesis' own engine against the WSGI app, with an
API client holding every scope.

The checks are schemathesis' registry (`schemathesis.checks.CHECKS`), so a check
added by an upgrade runs here without an edit. Not `max_response_time`: it is a
timing threshold (a benchmark's job, and flaky on a shared machine), and not in
the registry either. Two checks of our own run with them: every 4xx answers in
the documented error shape, and an undeclared Content-Type is a 415 (schemathesis
judges request-shape probes only for 5xx); the batch sync reports each
schema-invalid record as an error.

Hypothesis runs derandomized from a fixed seed with a fixed number of examples,
without schemathesis' run cache: the same requests every run. (Schemathesis'
pytest plugin is not used: it does not run under this pytest version.)

What it finds is fixed in the API or the schema. What is not the API's fault is
configured narrowly, each with its reason where it is set: the sync's per-record
answers (one operation, one check), NUL bytes PostgreSQL cannot store, error
feedback that misreads our error envelope, rules JSON Schema cannot state and
references to rows that do not exist (filter_failure), and a schemathesis bug in
its in-process transport (_send_in_process).
"""

import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import jsonschema_rs
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, transaction
from psycopg import pq
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.run import PhaseName
from schemathesis.generation.meta import CoverageScenario, coverage_scenario
from schemathesis.transport.wsgi import WSGITransport

from config.wsgi import application
from core.models import ApiClient
from tests.api_clients.helpers import bearer_client

# Marks the module's tests as database users, so pytest-django creates the test
# database before the module's engine run (schemathesis_run) opens it.
pytestmark = pytest.mark.django_db

SEED = 16
FUZZ_EXAMPLES = 6  # per operation and generation mode (positive, negative)
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 10
TESTED_PHASES = [
    PhaseName.EXAMPLES,
    PhaseName.COVERAGE,
    PhaseName.FUZZING,
    PhaseName.STATEFUL_TESTING,
]
SYNC = "POST /api/v1/interactions/sync/"


@schemathesis.serializer("text/csv", "message/rfc822", "text/plain")
def _text_serializer(ctx, value):
    """Bodies of text endpoints (Asterisk CDR, raw e-mail) as UTF-8 bytes."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", errors="replace")


SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
JSON_BODY_OPERATIONS = sorted(
    operation.label
    for operation in OPERATIONS
    if "application/json" in operation.definition.raw.get("requestBody", {}).get("content", {})
)


def _is_error_shape(body: object) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("code"), str)
        and isinstance(body.get("detail"), str)
        and isinstance(body.get("errors"), dict)
    )


@schemathesis.check
def rejects_in_error_shape(ctx, response, case):
    """Every 4xx is the documented `Error` ({code, detail, errors}); on an operation
    that reads a body, an undeclared Content-Type is a 415 and a malformed one a 400
    or 415."""
    scenario = coverage_scenario(case)
    # Credentials, and the resource a path names, are checked before a body is read.
    refused_first = response.status_code in (401, 403, 404)
    if "requestBody" not in case.operation.definition.raw:
        refused_first = True  # no body to read: its Content-Type means nothing
    if scenario == CoverageScenario.UNSUPPORTED_CONTENT_TYPE and not refused_first:
        assert response.status_code == 415, f"undeclared Content-Type got {response.status_code}"
    if scenario == CoverageScenario.MALFORMED_CONTENT_TYPE and not refused_first:
        assert response.status_code in (400, 415), (
            f"malformed Content-Type got {response.status_code}"
        )
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        assert _is_error_shape(body), (
            f"{response.status_code} is not the documented error shape: {response.content[:200]!r}"
        )


def _json_schema(node):
    """OpenAPI 3.0 -> JSON Schema, as far as the sync record needs: `nullable: true`."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted


def _sync_record_validator():
    components = _json_schema(SCHEMA.raw_schema["components"])
    document = {"$ref": "#/components/schemas/SyncRecordRequest", "components": components}
    return jsonschema_rs.validator_for(document)


@schemathesis.check
def sync_reports_each_bad_record(ctx, response, case):
    """The batch sync answers 200 with a result per record in request order, and every
    record the schema refuses has status `error` naming its fields."""
    if case.operation.label != SYNC or response.status_code != 200:
        return
    records = case.body["records"]
    results = json.loads(response.content)["results"]
    assert [result["index"] for result in results] == list(range(len(records)))
    validator = _sync_record_validator()
    for record, result in zip(records, results, strict=True):
        if not validator.is_valid(record):
            assert result["status"] == "error", f"record {result['index']}: {result}"
            assert result["errors"], f"record {result['index']}: {result}"


# Rules the API checks that JSON Schema cannot state. A schema-valid value breaking one
# is a 400 naming the field, which positive_data_acceptance takes for valid data
# refused. A 400 whose `errors` names these fields and nothing else is not a finding;
# one naming any other field still is (filter_failure below).
RULES_BEYOND_THE_SCHEMA = {
    # Relations between rows.
    "origin_interaction": "an interaction with the promise's customer",
    "interaction": "an interaction with the promise's customer",
    "owner": "a member of the promise's team; named by API clients (a rep defaults to self)",
    "matter": "a matter of the interaction's customer",
    "source": "a configured PBX (Asterisk CDR); another customer to merge (merge/)",
    "cursor": "a cursor the API issued (`next`), opaque to the client",
    # Registries and formats JSON Schema cannot enumerate.
    "time_zone": "an IANA time zone",
    "preferred_language": "a BCP 47 tag whose subtags are in the IANA registry",
    "value": "a phone number libphonenumber reads, or an e-mail address, per `kind`",
    "contact_points": "the same, for each contact point of a new customer",
    "region": "an ISO 3166 region",
    "url": "a URL Django's URLValidator takes (host labels of at most 63 characters...)",
    "recording_url": "the same, https: only unless RECORDING_URL_ALLOW_HTTP",
    # Across fields, or against the clock.
    "due_at": "in the future and within FOLLOWUP_DUE_MAX_YEARS; due_at or due_phrase",
    "due_phrase": "a phrase the schedule reads ('by Friday', 'in 2 hours')",
    "occurred_at": "inside the accepted time window (crm/time_window.py)",
    "ended_at": "not before occurred_at",
    "quiet_hours_start": "both quiet-hours ends or neither",
    "quiet_hours_end": "both quiet-hours ends or neither",
    "phone": "exactly one of phone or email (GET lookup/: query parameters)",
    "email": "exactly one of phone or email (GET lookup/: query parameters)",
}
# Fields naming a row by id or slug (the schema types the id, not which rows exist),
# by the dictionary of seeded rows that fills them in valid requests (_config): a
# positive case draws an existing row; a negative one still gets a wrong value. A
# refusal of a value that names no row (a schema example's customer 42, a boundary
# value of the coverage phase) is not a finding; a refusal of a seeded row is.
REFERENCES = {
    "customer": "customers",
    "origin_interaction": "interactions",
    "interaction": "interactions",
    "matter": "matters",
    "owner": "users",
    "rep": "users",
    "team": "teams",
    "category": "categories",
}


def _documented_body(case) -> dict:
    content = case.operation.definition.raw.get("requestBody", {}).get("content", {})
    return content.get(case.media_type, {}).get("schema", {})


def _only_the_body_is_negative(case) -> bool:
    negative = {
        location for location, part in case.meta.components.items() if part.mode.is_negative
    }
    return negative == {ParameterLocation.BODY}


def _failure_filter(rows: dict[str, list]):
    seeded = {
        name: {str(row) for row in rows[dictionary]} for name, dictionary in REFERENCES.items()
    }

    def names_no_row(case, name: str) -> bool:
        sent = {**(case.query or {}), **(case.body if isinstance(case.body, dict) else {})}
        return name in seeded and str(sent.get(name)) not in seeded[name]

    def filter_failure(context, failure, case, response) -> bool:
        """Keep every failure but
        - a valid request refused for RULES_BEYOND_THE_SCHEMA only, for a reference to
          no row, or for an Idempotency-Key the generator reused with another body
          (the documented 422 `idempotency_key_reused`: a key names one create);
        - a "wrong type" CSV body accepted: the object or number is sent as its text,
          a string like any other (schemathesis excuses text/plain and octet-stream);
        - an empty body where the schema says minLength 1: schemathesis generates
          `format: binary` bodies without minLength."""
        if failure.code == "ST201" and case.media_type == "text/csv":  # negative_data_...
            return not _only_the_body_is_negative(case)
        if failure.code != "ST202":  # positive_data_acceptance
            return True
        if case.body in (b"", "") and _documented_body(case).get("minLength", 0) >= 1:
            return False
        try:
            body = json.loads(response.content)
            named = {re.split(r"[.\[]", name)[0] for name in body["errors"]}
        except (ValueError, KeyError, TypeError):
            return True
        if response.status_code == 422:
            return body.get("code") != "idempotency_key_reused"
        explained = {
            name for name in named if name in RULES_BEYOND_THE_SCHEMA or names_no_row(case, name)
        }
        return response.status_code != 400 or not named or explained != named

    return filter_failure


CUSTOM_CHECKS = {"rejects_in_error_shape", "sync_reports_each_bad_record"}


def schemathesis_checks() -> set[str]:
    load_all_checks()
    return set(CHECKS.get_all_names()) - CUSTOM_CHECKS


def _config(*, secret: str, rows: dict[str, list]) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "dictionaries": {name: {"values": values} for name, values in rows.items()},
            "parameters": {
                f"{location}.{field}": {"dictionary": dictionary}
                for field, dictionary in REFERENCES.items()
                for location in ("body", "query")
            },
            "seed": SEED,
            "workers": 1,
            # No replay of an earlier run's requests (.schemathesis/): the same requests
            # every run, whatever ran before.
            "cache": {"enabled": False},
            "headers": {"Authorization": f"Bearer {secret}"},
            # Every registered check, ours included; max_response_time stays off.
            "checks": {"enabled": True},
            "generation": {
                # PostgreSQL text cannot hold NUL: the API refuses it with a 400 naming
                # the field, which schemathesis would take for valid data refused.
                "allow-x00": False,
                "deterministic": True,
                "database": "none",
                "max-examples": FUZZ_EXAMPLES,
            },
            "phases": {
                # Error feedback (learning from 4xx bodies, for every phase) reads a body
                # as DRF's bare field errors; ours wrap them in {code, detail, errors}, so
                # it learned a body property `errors` the request schemas forbid and sent
                # it as valid data.
                "fuzzing": {"error-feedback": {"enabled": False}},
                "stateful": {
                    "max-steps": STATEFUL_STEPS,
                    "generation": {"max-examples": STATEFUL_SCENARIOS},
                },
            },
            "operations": [
                {
                    # The batch reports per record (DESIGN.md: "a batch reports per
                    # item"): a record the schema refuses is answered 200 with status
                    # `error` for that record, checked by sync_reports_each_bad_record.
                    "include-name": SYNC,
                    "checks": {
                        "negative_data_rejection": {
                            # schemathesis' defaults, and 200
                            "expected-statuses": [
                                *("200", "400", "401", "403", "404", "405", "406"),
                                *("409", "415", "422", "428", "429", "5xx"),
                            ]
                        }
                    },
                },
            ],
        }
    )


def _send_in_process(send):
    """WSGITransport.send dropping socket-level options, as it does itself when given
    a requests session: schemathesis 4.32.5 passes `max_redirects`, `verify` and
    `cert` on to werkzeug when a check (ignored_auth) re-sends a request without
    its session, and werkzeug refuses them (a TypeError on every probe)."""

    def send_without_socket_options(self, case, *, session=None, **kwargs):
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    return send_without_socket_options


def _seed() -> dict[str, list]:
    """A few rows so list and detail responses are validated with real content, and
    the PBX the schema's Asterisk example names (`?source=asterisk`).

    Returns values that name those rows, by the dictionary they fill (_config)."""
    from django.utils import timezone

    from interactions.models import AsteriskSource
    from interactions.services import interaction_log
    from tests import factories

    AsteriskSource.objects.create(name="asterisk")  # the sample cdr.conf: 18 columns, UTC

    member = factories.TeamMembershipFactory()
    customer = factories.CustomerFactory(preferred_channel="", preferred_name="")
    factories.ContactPointFactory(customer=customer, value="+14155552671")
    factories.ContactPointFactory(customer=customer, kind="email", value="jane@example.com")
    interaction = interaction_log(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=timezone.now(),
        rep=member.user,
        team=member.team,
        category="complaint",
    )
    factories.InteractionFactory(customer=None, outcome="resolved")
    factories.FollowUpFactory(customer=customer, owner=member.user, team=member.team)
    return {
        "customers": [customer.pk],
        "interactions": [interaction.pk],
        "matters": [interaction.matter_id],
        "users": [member.user.pk],
        "teams": [member.team.pk],
        "categories": ["complaint", "question"],
    }


@dataclass
class Finding:
    phase: str
    check: str
    operation: str
    title: str
    message: str
    reproduce: str

    def __str__(self) -> str:
        return (
            f"[{self.phase}] {self.check} on {self.operation}: {self.title}\n"
            f"{self.message}\n{self.reproduce}"
        )


@dataclass
class Run:
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    phases: dict[str, Status] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    stateful_calls: Counter = field(default_factory=Counter)  # (method, status)
    scenarios: Counter = field(default_factory=Counter)  # per phase
    checks_run: Counter = field(default_factory=Counter)  # per check name
    # (operation, kind of bad body) -> statuses answered
    bad_bodies: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))


BAD_BODY_KINDS = {
    CoverageScenario.OBJECT_UNEXPECTED_PROPERTIES: "unknown field",
    CoverageScenario.INCORRECT_TYPE: "wrong type",
    CoverageScenario.UNSUPPORTED_CONTENT_TYPE: "wrong content type",
}


def _record_scenario(run: Run, event: events.ScenarioFinished) -> None:
    phase = event.phase.value
    run.scenarios[phase] += 1
    recorder = event.recorder
    for case_id, checks in recorder.checks.items():
        for check in checks:
            run.checks_run[check.name] += 1
            if check.status == Status.FAILURE:
                failure = check.failure_info.failure
                interaction = recorder.interactions.get(case_id)
                response = interaction.response if interaction is not None else None
                answer = (
                    f"-> {response.status_code} {response.content[:300]!r}"
                    if response is not None
                    else ""
                )
                run.findings.append(
                    Finding(
                        phase=phase,
                        check=check.name,
                        operation=failure.operation or recorder.label,
                        title=failure.title,
                        message=failure.message,
                        reproduce=f"{check.failure_info.code_sample}\n{answer}",
                    )
                )
    for case_id, node in recorder.cases.items():
        if node.parent_id is not None and node.transition is None:
            continue  # a check's own probe (ignored_auth sends it without credentials)
        case = node.value
        interaction = recorder.interactions.get(case_id)
        if phase == PhaseName.STATEFUL_TESTING.value and interaction and interaction.response:
            run.stateful_calls[(case.method.upper(), interaction.response.status_code)] += 1
        kind = BAD_BODY_KINDS.get(coverage_scenario(case))
        if kind is None:
            continue
        location = case.meta.phase.data.parameter_location
        if kind != "wrong content type" and location != ParameterLocation.BODY:
            continue
        if interaction is not None and interaction.response is not None:
            run.bad_bodies[(case.operation.label, kind)].add(interaction.response.status_code)


@pytest.fixture(scope="module")
def schemathesis_run(django_db_setup, django_db_blocker) -> Run:
    """One engine run for the module, in a transaction rolled back at the end.

    The engine calls the app from its worker threads; each request runs on the
    test's connection (shared across threads, one request at a time), as
    django.test.Client keeps it open, and in its own savepoint, as production runs
    each request on its own: a database error the API answered as a 400 must not
    leave the shared transaction aborted for every later request.
    """
    run = Run()
    patch = pytest.MonkeyPatch()
    patch.setattr(WSGITransport, "send", _send_in_process(WSGITransport.send))
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            shared = connections[DEFAULT_DB_ALIAS]
            shared.inc_thread_sharing()

            def app(environ, start_response):
                connections[DEFAULT_DB_ALIAS] = shared
                savepoint = transaction.savepoint()
                try:
                    return application(environ, start_response)
                finally:
                    status = shared.connection.info.transaction_status
                    if status == pq.TransactionStatus.INERROR:
                        transaction.savepoint_rollback(savepoint)
                    else:
                        transaction.savepoint_commit(savepoint)

            secret = bearer_client(*ApiClient.Scope.values, name="schemathesis")[2]
            rows = _seed()
            schema = schemathesis.openapi.from_wsgi(
                "/api/schema/", app, config=_config(secret=secret, rows=rows)
            )
            schema.hook(_failure_filter(rows))
            started = time.monotonic()
            for event in from_schema(schema).execute():
                if isinstance(event, events.ScenarioFinished):
                    _record_scenario(run, event)
                elif isinstance(event, events.NonFatalError):
                    run.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
                elif isinstance(event, events.PhaseFinished):
                    run.phases[event.phase.name.value] = event.status
                    run.phase_seconds[event.phase.name.value] = time.monotonic() - started
                elif isinstance(event, events.EngineFinished):
                    run.errors.extend(str(failure) for failure in event.failures)
            run.seconds = time.monotonic() - started
            print(f"schemathesis: {run.seconds:.0f} s; phases done at {run.phase_seconds}")
            shared.dec_thread_sharing()
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        patch.undo()
    return run


def test_schema_covers_the_machine_endpoints():
    paths = {operation.path for operation in OPERATIONS}

    assert {
        "/api/v1/interactions/sync/",
        "/api/v1/lookup/",
        "/api/v1/integrations/twilio/voice/",
        "/api/v1/integrations/asterisk/cdr/",
        "/api/v1/interactions/",
        "/api/v1/customers/",
        "/api/v1/followups/",
    } <= paths


def test_every_phase_ran_and_passed(schemathesis_run):
    assert schemathesis_run.errors == []
    assert {phase.value: schemathesis_run.phases.get(phase.value) for phase in TESTED_PHASES} == {
        phase.value: Status.SUCCESS for phase in TESTED_PHASES
    }
    assert schemathesis_run.scenarios[PhaseName.STATEFUL_TESTING.value] >= 10


def test_the_stateful_phase_creates_then_reads_and_changes(schemathesis_run):
    """Sequences reach past validation: resources are created, then read and changed
    through the schema's links (ensure_resource_availability has something to judge).
    A DELETE after a create is rare in this budget; tests/api_clients/
    test_strict_input.py deletes every deletable resource and reads it back."""
    calls = schemathesis_run.stateful_calls
    succeeded = {method for (method, status), n in calls.items() if 200 <= status < 300}

    assert {"POST", "GET", "PATCH"} <= succeeded, dict(calls)
    assert sum(n for (method, _), n in calls.items() if method == "DELETE"), dict(calls)


def test_every_schemathesis_check_ran(schemathesis_run):
    checks = schemathesis_checks()

    assert {"negative_data_rejection", "use_after_free", "ignored_auth"} <= checks
    assert "max_response_time" not in checks
    assert {name for name in checks | CUSTOM_CHECKS if schemathesis_run.checks_run[name]} == (
        checks | CUSTOM_CHECKS
    )


def test_schemathesis_finds_nothing(schemathesis_run):
    findings = "\n\n".join(str(finding) for finding in schemathesis_run.findings)

    assert findings == "", f"{len(schemathesis_run.findings)} findings:\n\n{findings}"


@pytest.mark.parametrize("kind", sorted(BAD_BODY_KINDS.values()))
def test_bad_json_bodies_are_refused_with_4xx(schemathesis_run, kind):
    """Each JSON write got, in the negative phase, a body with an unknown field, one
    with a wrong type and one in an undeclared content type, each refused with a 4xx
    (whose shape rejects_in_error_shape checked). A batch sync refuses a bad record
    with a 200 naming it (sync_reports_each_bad_record checked), a bad batch with 400."""
    answered = {
        operation: schemathesis_run.bad_bodies.get((operation, kind), set())
        for operation in JSON_BODY_OPERATIONS
    }

    assert {op: statuses for op, statuses in answered.items() if not statuses} == {}
    assert {
        op: statuses
        for op, statuses in answered.items()
        if not all(400 <= status < 500 or (op == SYNC and status == 200) for status in statuses)
    } == {}
