"""Metrics on a scripted history equal the values computed by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followups.models import FollowUp
from interactions import selectors as interaction_selectors
from interactions.models import Feedback, Interaction, InteractionCategory, Matter
from reporting import board_selectors, metrics_rollup, metrics_selectors
from reporting.metrics_models import (
    ContactDay,
    ContactFact,
    MatterDay,
    MatterFact,
    PromiseDay,
    PromiseFact,
    PromiseLateness,
    RollupState,
)
from reporting.metrics_selectors import MetricsFilter
from tests import factories
from tests.board.conftest import member, promise

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
RANGE = MetricsFilter(start=date(2026, 4, 6), end=date(2026, 4, 19))  # two ISO weeks


def at(day: int, hour: int = 10, month: int = 4) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def done(owner, team, due, completed, on_time, **fields):
    return promise(
        owner,
        team,
        due,
        status="done",
        completed_at=completed,
        is_kept_on_time=on_time,
        next_action_at=None,
        **fields,
    )


@pytest.fixture
def promises(org):
    done(org.maria, org.east, at(7), at(7, 9), True)  # kept on time
    done(org.maria, org.east, at(7), at(7, 12), False)  # 2 h late
    done(org.james, org.east, at(8), at(8, 16), False)  # 6 h late
    done(org.james, org.east, at(14), at(14), True)  # on the minute: on time
    promise(org.maria, org.east, at(15))  # missed, still open
    promise(org.maria, org.east, at(16), status="cancelled", cancel_reason="x", next_action_at=None)
    done(org.maria, org.east, at(16), at(16, 9), True, renegotiation_count=2)
    promise(org.james, org.east, at(25, month=5))  # due after the range, open
    done(org.james, org.east, at(10), at(10, 8), None)  # recorded before is_kept_on_time existed
    promise(org.wei, org.west, at(7))  # another team: not in Sam's figures


def test_promise_metrics_match_the_hand_computed_values(org, promises):
    scope = board_selectors.board_scope(org.sam)

    metrics = metrics_selectors.promise_metrics(scope=scope, metrics_filter=RANGE, now=NOW)

    assert metrics.kept_on_time == 4
    assert metrics.kept_late == 2
    assert metrics.missed == 1
    assert metrics.decided == 7
    assert metrics.kept_on_time_percent == 57.1  # 4 / 7
    assert metrics.median_lateness == timedelta(hours=4)  # median of 2 h and 6 h
    assert (metrics.renegotiated, metrics.renegotiations) == (1, 2)
    assert (metrics.open_now, metrics.overdue_now) == (2, 1)


def test_weekly_kept_on_time_and_filters(org, promises):
    scope = board_selectors.board_scope(org.sam)

    weeks = metrics_selectors.promise_weeks(scope=scope, metrics_filter=RANGE, now=NOW)
    james_only = metrics_selectors.promise_metrics(
        scope=scope,
        metrics_filter=MetricsFilter(start=RANGE.start, end=RANGE.end, rep_id=org.james.pk),
        now=NOW,
    )

    assert [
        (w["week"], w["kept_on_time"], w["kept_late"], w["missed"], w["kept_on_time_percent"])
        for w in weeks
    ] == [
        (date(2026, 4, 6), 2, 2, 0, 50.0),
        (date(2026, 4, 13), 2, 0, 1, 66.7),
    ]
    assert (james_only.kept_on_time, james_only.kept_late, james_only.missed) == (2, 1, 0)


def contact(customer, when, category, *, matter=None, team, rep, repeat=False, **fields):
    return factories.InteractionFactory(
        customer=customer,
        occurred_at=when,
        category_id=category,
        matter=matter,
        team=team,
        rep=rep,
        is_repeat_contact=repeat,
        **fields,
    )


def matter_with(customer, first, category, *, status="resolved", contacts=1):
    matter = Matter.objects.create(
        customer=customer,
        category_id=category,
        status=status,
        first_interaction=first,
        opened_at=first.occurred_at,
        last_contact_at=first.occurred_at,
        contact_count=contacts,
        resolved_at=first.occurred_at if status == "resolved" else None,
    )
    first.matter = matter
    first.save(update_fields=["matter"])
    return matter


@pytest.fixture
def contacts(org):
    InteractionCategory.objects.get_or_create(
        slug="complaint-billing", defaults={"name": "Billing complaint"}
    )
    east = {"team": org.east, "rep": org.maria}
    a, b, c, d, e, f = (factories.CustomerFactory() for _ in range(6))
    # A complains, it is resolved at once, but A comes back 3 days later (a new matter).
    a1 = contact(a, at(7, 9), "complaint", **east)
    matter_with(a, a1, "complaint")
    a2 = contact(a, at(10), "complaint", **east)
    matter_with(a, a2, "complaint", status="open")
    # B asks, calls again 4 days later on the same matter, then it is resolved.
    b1 = contact(b, at(8), "question", **east)
    m3 = matter_with(b, b1, "question", contacts=2)
    contact(b, at(12), "question", matter=m3, repeat=True, **east)
    # C's request is resolved, C is back 14 days later (outside the range).
    c1 = contact(c, at(14), "request", **east)
    matter_with(c, c1, "request")
    contact(c, at(28), "request", **east)
    # D praises; resolved.
    d1 = contact(d, at(15), "praise", **east)
    matter_with(d, d1, "praise")
    # E's billing complaint stays open.
    e1 = contact(e, at(16), "complaint-billing", **east)
    matter_with(e, e1, "complaint-billing", status="open")
    # F did not answer: counts as an interaction, cannot be rated.
    contact(f, at(9), None, outcome="no_answer", **east)
    # West's complaint: not Sam's team.
    w1 = contact(factories.CustomerFactory(), at(8), "complaint", team=org.west, rep=org.wei)
    matter_with(w1.customer, w1, "complaint")
    for interaction, score in ((a1, 2), (d1, 5), (c1, 4), (w1, 1)):
        Feedback.objects.create(interaction=interaction, matter=interaction.matter, score=score)


def contact_scope(org, user=None, **filters):
    scope = board_selectors.board_scope(user or org.sam)
    metrics_filter = MetricsFilter(start=RANGE.start, end=RANGE.end, **filters)
    return scope, metrics_filter, metrics_selectors._contact_scope(scope, metrics_filter)


def test_contact_metrics_match_the_hand_computed_values(org, contacts):
    _, _, scope = contact_scope(org)

    from reporting import contact_selectors as contact_metrics

    metrics = contact_metrics.contact_metrics(contact_scope=scope, now=NOW)

    # Matters opened in range (East): A1, A2, B, C, D, E = 6.
    assert metrics.matters == 6
    assert metrics.resolved_first_contact == 3  # A1, C, D (B needed two contacts; A2, E open)
    assert metrics.first_contact_resolution_percent == 50.0
    assert metrics.repeat_7d == 2  # A1 (A back after 3 days), B (back after 4)
    assert metrics.repeat_7d_percent == 33.3
    assert metrics.repeat_30d == 3  # ... and C (back after 14 days)
    assert metrics.repeat_30d_percent == 50.0
    assert metrics.complaints == 3  # A1, A2, E1
    assert metrics.interactions == 8  # A1 A2 B1 B2 C1 D1 E1 F
    assert (metrics.csat_requests, metrics.csat_responses) == (7, 3)  # F cannot be rated
    assert metrics.csat_response_rate_percent == 42.9
    assert metrics.csat_average == 3.67  # (2 + 5 + 4) / 3


def test_first_contact_resolution_agrees_with_the_interaction_logs_own_selector(org, contacts):
    _, _, scope = contact_scope(org)
    from reporting import contact_selectors as contact_metrics

    ours = contact_metrics.contact_metrics(contact_scope=scope, now=NOW)
    theirs = interaction_selectors.matter_fcr_rate(
        start=scope.start_at, end=scope.end_before, team_ids=[org.east.pk]
    )
    assert (ours.matters, ours.resolved_first_contact) == (
        theirs["matters"],
        theirs["resolved_first_contact"],
    )


def test_weekly_complaints_by_category_and_csat(org, contacts):
    scope, metrics_filter, _ = contact_scope(org)

    report = metrics_selectors.metrics_report(scope=scope, metrics_filter=metrics_filter, now=NOW)

    assert report.complaint_categories == ["Billing complaint", "Complaint"]
    assert [
        (w["week"], w["Billing complaint"], w["Complaint"], w["total"])
        for w in report.complaint_weeks_by_category
    ] == [
        (date(2026, 4, 6), 0, 2, 2),
        (date(2026, 4, 13), 1, 0, 1),
    ]
    assert report.complaint_trend["direction"] == "down"
    assert [(w["requests"], w["responses"], w["csat_average"]) for w in report.csat_weeks] == [
        (4, 1, 2.0),
        (3, 2, 4.5),
    ]
    assert [
        (w["matters"], w["resolved_first_contact"], w["repeat_7d"]) for w in report.matter_weeks
    ] == [
        (3, 1, 2),  # A1, A2, B opened in the first week
        (3, 2, 0),
    ]


def test_admins_see_every_team(org, contacts):
    _, _, scope = contact_scope(org, user=org.admin)
    from reporting import contact_selectors as contact_metrics

    metrics = contact_metrics.contact_metrics(contact_scope=scope, now=NOW)
    assert (metrics.matters, metrics.complaints, metrics.csat_responses) == (7, 4, 4)


def test_channel_and_rep_filters(org, contacts):
    _, _, by_email = contact_scope(org, channel="email")
    _, _, by_james = contact_scope(org, rep_id=org.james.pk)
    from reporting import contact_selectors as contact_metrics

    assert contact_metrics.contact_metrics(contact_scope=by_email, now=NOW).interactions == 0
    assert contact_metrics.contact_metrics(contact_scope=by_james, now=NOW).matters == 0


def test_metrics_report_query_count_does_not_grow_with_data(org, promises, contacts):
    scope = board_selectors.board_scope(org.sam)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            metrics_selectors.metrics_report(scope=scope, metrics_filter=RANGE, now=NOW)
        return len(captured)

    before = count()
    for i in range(10):
        rep = member(org.east, username=f"more{i}")
        customer = factories.CustomerFactory()
        first = contact(customer, at(8 + i % 7), "complaint", team=org.east, rep=rep)
        matter_with(customer, first, "complaint")
        promise(rep, org.east, at(9 + i % 7))
    assert count() == before


def test_contact_figures_are_reused_within_one_sweep_interval(org, contacts, settings):
    from django.core.cache import cache

    settings.METRICS_CACHE_SECONDS = settings.FOLLOWUP_SWEEP_SECONDS
    settings.METRICS_ROLLUP = False  # the cache serves the figures computed on the request
    cache.clear()
    scope = board_selectors.board_scope(org.sam)
    week_one = MetricsFilter(start=date(2026, 4, 6), end=date(2026, 4, 12))

    with CaptureQueriesContext(connection) as first:
        figures = metrics_selectors.contact_figures(scope=scope, metrics_filter=RANGE, now=NOW)
    with CaptureQueriesContext(connection) as second:
        again = metrics_selectors.contact_figures(scope=scope, metrics_filter=RANGE, now=NOW)
    other = metrics_selectors.contact_figures(scope=scope, metrics_filter=week_one, now=NOW)

    assert len(first) >= 5
    assert len(second) == 0
    assert again.metrics == figures.metrics
    assert other.metrics.matters == 3  # another filter is another entry, not the cached one
    cache.clear()


def test_totals_from_the_weekly_rows_equal_the_direct_totals(org, contacts):
    scope, metrics_filter, contact_scope_ = contact_scope(org)
    from reporting import contact_selectors as contact_metrics

    report = metrics_selectors.metrics_report(scope=scope, metrics_filter=metrics_filter, now=NOW)

    direct = contact_metrics.contact_metrics(contact_scope=contact_scope_, now=NOW)
    assert report.contacts == direct


# --- the same figures through the rollups (reporting/metrics_rollup.py) ---------------


def refresh() -> metrics_rollup.RefreshResult:
    """What the beat task does every sweep interval (a fresh install back-fills)."""
    return metrics_rollup.metrics_rollup_refresh(max_seconds=120)


def both_paths(settings, user, metrics_filter=RANGE):
    scope = board_selectors.board_scope(user)
    settings.METRICS_ROLLUP = False
    live = metrics_selectors.metrics_report(scope=scope, metrics_filter=metrics_filter, now=NOW)
    settings.METRICS_ROLLUP = True
    assert metrics_selectors.uses_rollup(metrics_filter)
    rolled = metrics_selectors.metrics_report(scope=scope, metrics_filter=metrics_filter, now=NOW)
    return live, rolled


def test_rollup_figures_match_the_hand_computed_values(org, promises, contacts, settings):
    refresh()
    _, report = both_paths(settings, org.sam)

    p = report.promises
    assert (p.kept_on_time, p.kept_late, p.missed, p.decided) == (4, 2, 1, 7)
    assert p.kept_on_time_percent == 57.1
    assert p.median_lateness == timedelta(hours=4)  # 2 h and 6 h, each alone in its bucket
    assert (p.renegotiated, p.renegotiations, p.open_now, p.overdue_now) == (1, 2, 2, 1)
    assert [(w["kept_on_time"], w["kept_late"], w["missed"]) for w in report.promise_weeks] == [
        (2, 2, 0),
        (2, 0, 1),
    ]
    c = report.contacts
    assert (c.matters, c.resolved_first_contact, c.repeat_7d, c.repeat_30d) == (6, 3, 2, 3)
    assert (c.complaints, c.interactions, c.csat_requests, c.csat_responses) == (3, 8, 7, 3)
    assert c.csat_average == 3.67
    assert report.complaint_categories == ["Billing complaint", "Complaint"]
    assert [
        (w["Billing complaint"], w["Complaint"]) for w in report.complaint_weeks_by_category
    ] == [
        (0, 2),
        (1, 0),
    ]
    assert [(w["requests"], w["responses"]) for w in report.csat_weeks] == [(4, 1), (3, 2)]
    assert [(w["matters"], w["repeat_7d"]) for w in report.matter_weeks] == [(3, 2), (3, 0)]


@pytest.mark.parametrize(
    ("who", "filters"),
    [
        ("admin", {}),
        ("sam", {"rep_id": "james"}),
        ("sam", {"channel": "phone"}),
        ("admin", {"team_id": "west"}),
        ("sam", {"team_id": "west"}),  # not Sam's team: nothing, on both paths
    ],
)
def test_rollup_equals_live_for_every_filter(org, promises, contacts, settings, who, filters):
    values = {"james": org.james.pk, "west": org.west.pk}
    metrics_filter = MetricsFilter(
        start=RANGE.start,
        end=RANGE.end,
        **{key: values.get(value, value) for key, value in filters.items()},
    )
    refresh()
    live, rolled = both_paths(settings, getattr(org, who), metrics_filter)
    assert rolled.promises == live.promises
    assert rolled.promise_weeks == live.promise_weeks
    assert rolled.contacts == live.contacts
    assert rolled.matter_weeks == live.matter_weeks
    assert rolled.complaint_weeks_by_category == live.complaint_weeks_by_category
    assert rolled.csat_weeks == live.csat_weeks
    assert rolled.handle_time_by_outcome == live.handle_time_by_outcome


def _rollup_tables() -> dict[str, list]:
    tables = {}
    models = (ContactDay, ContactFact, MatterDay, MatterFact, PromiseDay, PromiseFact)
    for model in (*models, PromiseLateness):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        tables[model.__name__] = sorted(model.objects.values_list(*fields))
    return tables


def _age_sources() -> None:
    """Make every row look written a day ago (before the watermark's overlap)."""
    a_day_ago = datetime.now(UTC) - timedelta(days=1)
    Interaction.objects.update(updated_at=a_day_ago)
    Matter.objects.update(updated_at=a_day_ago)
    FollowUp.objects.update(updated_at=a_day_ago)
    Feedback.objects.update(created_at=a_day_ago)


@pytest.mark.parametrize("fact_chunk_rows", [None, 1], ids=["default chunks", "a fact a chunk"])
def test_refresh_is_idempotent_and_incremental(
    org, promises, contacts, settings, monkeypatch, fact_chunk_rows
):
    if fact_chunk_rows:  # the facts of many touched rows are recomputed a chunk at a time
        monkeypatch.setattr(metrics_rollup, "FACT_CHUNK_ROWS", fact_chunk_rows)
    first = refresh()
    assert first.backfilled[metrics_rollup.CONTACTS] >= 1
    assert metrics_rollup.rollup_covers(RANGE.start)
    before = _rollup_tables()
    _age_sources()

    again = refresh()  # nothing changed: nothing recomputed
    assert again.days == {"contacts": 0, "matters": 0, "promises": 0}
    assert again.facts == {"contacts": 0, "matters": 0, "promises": 0}
    assert _rollup_tables() == before

    # One sweep interval's writes: A is back 2 days after A2 (A2 becomes a
    # repeat), a promise is kept late, another is renegotiated into the next week.
    a2 = Matter.objects.get(first_interaction__occurred_at=at(10))
    contact(a2.customer, at(12, 15), "complaint", team=org.east, rep=org.maria)
    open_one = FollowUp.objects.get(due_at=at(15))
    open_one.status, open_one.completed_at, open_one.is_kept_on_time = "done", at(15, 13), False
    open_one.next_action_at = None
    open_one.save()
    moved = FollowUp.objects.get(due_at=at(8))
    moved.due_at, moved.renegotiation_count = at(13), 1
    moved.save()

    result = refresh()
    # Only the touched days: the new contact's day and (matters) A2's day;
    # promises: 15 April, and the renegotiated one's old (8th) and new (13th) day.
    assert result.days["matters"] == 1
    assert result.days["promises"] == 3
    assert result.days["contacts"] == 1  # the new contact's day
    live, rolled = both_paths(settings, org.sam)
    assert rolled.contacts == live.contacts
    assert rolled.contacts.repeat_7d == 3
    assert rolled.promises == live.promises
    assert rolled.promise_weeks == live.promise_weeks
    assert rolled.promises.kept_late == 3


def test_a_range_not_yet_back_filled_is_computed_on_the_request(org, promises, settings):
    metrics_rollup.metrics_rollup_refresh(max_seconds=0)  # starts, back-fills nothing
    settings.METRICS_ROLLUP = True
    assert not metrics_selectors.uses_rollup(RANGE)
    scope = board_selectors.board_scope(org.sam)
    metrics = metrics_selectors.promise_figures(scope=scope, metrics_filter=RANGE, now=NOW)[0]
    assert (metrics.kept_on_time, metrics.kept_late, metrics.missed) == (4, 2, 1)


def test_histogram_median_is_percentile_cont_for_lone_values():
    from reporting.metrics_selectors import histogram_median

    def hist(*seconds):
        buckets: dict[int, list[int]] = {}
        for value in seconds:
            buckets.setdefault(metrics_rollup.lateness_bucket(value), []).append(value)
        return [(b, len(v), sum(v)) for b, v in buckets.items()]

    assert histogram_median(hist()) is None
    assert histogram_median(hist(600)) == timedelta(minutes=10)
    assert histogram_median(hist(3600, 7200, 86400)) == timedelta(hours=2)
    assert histogram_median(hist(3600, 86400)) == timedelta(seconds=(3600 + 86400) / 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("savepoint", [False, True], ids=["in the transaction", "in a savepoint"])
def test_a_transaction_open_across_a_refresh_is_folded_in_by_the_next(monkeypatch, savepoint):
    """A row written by a transaction still open while a refresh runs commits later,
    with an updated_at older than that refresh; the next refresh reaches back to the
    start of that transaction (the watermark), however long it was open, and its
    transaction id is not one the last refresh saw end (a savepoint's own id neither:
    a snapshot does not list subtransactions). (Promises: the contacts rollup also
    re-checks a day a run, which would hide a miss.)"""
    import time

    import psycopg

    monkeypatch.setattr(metrics_rollup, "WATERMARK_OVERLAP", timedelta(seconds=1))
    followup = factories.FollowUpFactory()
    refresh()

    def renegotiations() -> int:
        return PromiseFact.objects.get(followup_id=followup.pk).renegotiation_count

    assert renegotiations() == 0
    with psycopg.connect(**connection.get_connection_params()) as late:
        if savepoint:
            late.execute("SELECT count(*) FROM followups_followup")
            late.execute("SAVEPOINT sync_record")
        late.execute(
            "UPDATE followups_followup SET renegotiation_count = 7, updated_at = now() "
            "WHERE id = %s",
            [followup.pk],
        )
        time.sleep(2.5)  # open longer than WATERMARK_OVERLAP
        refresh()  # cannot see the change yet
        late.commit()
    assert renegotiations() == 0

    refresh()
    assert renegotiations() == 7


@pytest.mark.django_db(transaction=True)
def test_a_long_reader_does_not_hold_the_watermark_back():
    """pg_dump, a report: a transaction that only reads writes no row the rollup could
    miss. Had it held the watermark at its start, every refresh while it ran would
    re-read every change since (a nightly backup under a busy sync: each refresh
    longer than the last)."""
    import psycopg

    refresh()
    with psycopg.connect(**connection.get_connection_params()) as reader:
        reader.execute("SELECT count(*) FROM followups_followup")
        reader_start = reader.execute("SELECT now()").fetchone()[0]
        refresh()
        watermarks = set(RollupState.objects.values_list("watermark", flat=True))
        reader.rollback()
    assert len(watermarks) == 1
    assert watermarks.pop() > reader_start


def test_a_cancelled_promise_leaves_its_facts_and_its_day(org):
    """A fact whose source no longer qualifies is deleted, and its day recomputed."""
    kept = promise(org.maria, org.east, at(9))
    cancelled = promise(org.maria, org.east, at(9))
    refresh()
    assert set(PromiseFact.objects.values_list("followup_id", flat=True)) == {
        kept.pk,
        cancelled.pk,
    }
    _age_sources()

    FollowUp.objects.filter(pk=cancelled.pk).update(
        status="cancelled",
        cancel_reason="Customer withdrew",
        next_action_at=None,
        updated_at=datetime.now(tz=UTC),
    )
    result = refresh()

    assert result.days["promises"] == 1
    assert list(PromiseFact.objects.values_list("followup_id", flat=True)) == [kept.pk]
    everyone = PromiseDay.objects.filter(day=date(2026, 4, 9), level=0)
    assert sum(everyone.values_list("due", flat=True)) == 1


def test_a_matter_emptied_by_a_link_leaves_its_fact_and_its_day(org, contacts, settings):
    """Linking a matter's only contact to another matter deletes the emptied matter (the
    database records it, reporting/0002); the next refresh drops its fact and
    recomputes its day, whichever customers it saw contacted."""
    from interactions import matters

    refresh()
    _age_sources()
    b_matter = Matter.objects.get(first_interaction__occurred_at=at(8), category_id="question")
    a_later = Matter.objects.get(first_interaction__occurred_at=at(10))
    a_first = Matter.objects.get(first_interaction__occurred_at=at(7, 9))
    matters.interaction_matter_link(interaction=a_later.first_interaction, matter=a_first)
    assert not Matter.objects.filter(pk=a_later.pk).exists()
    # The contacts look old (the matter that grew does not): only the recorded
    # deletion leads to the emptied matter's fact.
    Interaction.objects.update(updated_at=datetime.now(UTC) - timedelta(days=1))
    assert MatterFact.objects.filter(matter_id=a_later.pk).exists()

    result = refresh()

    assert not MatterFact.objects.filter(matter_id=a_later.pk).exists()
    assert MatterFact.objects.filter(matter_id=b_matter.pk).exists()
    assert result.days["matters"] >= 1
    live, rolled = both_paths(settings, org.sam)
    assert rolled.contacts == live.contacts
    assert rolled.matter_weeks == live.matter_weeks
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reporting_matterdeletion")
        assert cursor.fetchone()[0] == 0  # taken by the refresh that corrected it


@pytest.mark.django_db(transaction=True)  # each write committed, as in production
def test_rows_a_refresh_read_are_not_recomputed_by_the_next(org):
    """updated_at reaches back over WATERMARK_OVERLAP, but a row whose transaction had
    ended when the last refresh read is left alone: only the promise written since is
    recomputed (under a busy sync each matter was recomputed three times)."""
    first = promise(org.maria, org.east, at(9))
    second = promise(org.maria, org.east, at(10))
    with connection.cursor() as cursor:
        # The oldest transaction id running anywhere on the server: a session of
        # another database (a second test run sharing the server) holds it back too.
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
            "> max(xmin::text::bigint) FROM followups_followup"
        )
        if not cursor.fetchone()[0]:
            pytest.skip("another session on this server holds an older transaction open")
    refresh()
    assert refresh().facts["promises"] == 0

    FollowUp.objects.filter(pk=second.pk).update(
        renegotiation_count=1, updated_at=datetime.now(tz=UTC)
    )
    result = refresh()

    assert result.facts["promises"] == 1
    assert PromiseFact.objects.get(followup_id=second.pk).renegotiation_count == 1
    assert PromiseFact.objects.get(followup_id=first.pk).renegotiation_count == 0


def _rebuilt_tables() -> dict[str, list]:
    """The rollup tables as a fresh install computes them from the sources."""
    for model in (ContactDay, ContactFact, MatterDay, MatterFact, PromiseDay, PromiseFact):
        model.objects.all().delete()
    PromiseLateness.objects.all().delete()
    RollupState.objects.all().delete()
    refresh()
    return _rollup_tables()


def test_day_rows_kept_by_difference_equal_a_rebuild(org, promises, contacts, settings):
    """Each refresh adds the difference its changed facts make to the day rows; after
    edits, a new contact, a moved contact, feedback and a deleted contact (recorded by
    the database, reporting/0004) they hold what a rebuild from the sources holds."""
    refresh()
    _age_sources()
    a1 = Interaction.objects.get(occurred_at=at(7, 9))
    a1.outcome, a1.channel = "resolved", "email"
    a1.save()
    moved = Interaction.objects.get(occurred_at=at(14))
    moved.occurred_at = at(15, 11)
    moved.save()
    new = contact(
        factories.CustomerFactory(), at(16, 12), "complaint", team=org.east, rep=org.james
    )
    Feedback.objects.create(interaction=new, score=5)
    gone = Interaction.objects.get(occurred_at=at(9))  # F's unanswered call, no matter
    gone.delete()

    result = refresh()

    assert result.facts["contacts"] == 4
    assert result.days["contacts"] == 5  # 7, 9, 14, 15 and 16 April
    incremental = _rollup_tables()
    live, rolled = both_paths(settings, org.sam)
    assert rolled.contacts == live.contacts
    assert rolled.csat_weeks == live.csat_weeks
    assert rolled.handle_time_by_outcome == live.handle_time_by_outcome
    assert incremental == _rebuilt_tables()


@pytest.mark.parametrize("ratio", [1.0, 0.0])
def test_a_refresh_rests_between_chunks_as_long_as_each_took(org, settings, monkeypatch, ratio):
    """Background work on the reps' database: after each chunk of facts the refresh
    pauses that chunk's time times METRICS_REFRESH_PAUSE_RATIO (0: no pause)."""
    settings.METRICS_REFRESH_PAUSE_RATIO = ratio
    monkeypatch.setattr(metrics_rollup, "FACT_CHUNK_ROWS", 1)
    refresh()
    promise(org.maria, org.east, at(9))
    promise(org.maria, org.east, at(10))
    pauses: list[float] = []
    monkeypatch.setattr(metrics_rollup, "sleep", pauses.append)

    result = refresh()

    assert result.facts["promises"] == 2
    if ratio:
        assert len(pauses) == 2  # one chunk a promise: 2 chunks, 2 pauses
        assert all(pause > 0 for pause in pauses)
    else:
        assert pauses == []
