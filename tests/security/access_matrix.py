"""Who gets what from every endpoint: the documented access policy as data.

test_access_matrix.py discovers every (method, route) the URL resolver serves
and fails when one has no entry here, or when an answer differs from the entry.
docs/access.md ("Permission matrix") states the same table in prose.

Roles (the world they act in is built by test_access_matrix.world):
- anonymous: no session, no token.
- rep: rep in team A; owns customer C and its interaction and promise.
- rep_other_team: rep in team B only.
- supervisor: supervisor of team A.
- supervisor_other_team: supervisor of team B only (must never see team A's
  private data).
- admin: superuser.
- client_with: an API client holding exactly the entry's `scopes`
  (all scopes when the entry has none).
- client_without: an API client holding every scope except the entry's
  (no scope at all when the entry has none).

Objects of team A (the promise, its history) are team-private: a rep of
another team gets 404 for them, never 403, so their existence does not leak.
Customers, contact points, facts and the interaction timeline are readable by
every rep (a caller's history is not team-private, crm/access.py).

Write requests are sent with an empty body unless `body` is given: 400 then
means "allowed in, and the input was checked", which is what the matrix needs
to tell apart from 401/403/404.
"""

from dataclasses import dataclass, field

STAFF = ("rep", "rep_other_team", "supervisor", "supervisor_other_team", "admin")
ROLES = ("anonymous", *STAFF, "client_with", "client_without")

# Shorthands for the common rows.
LOGIN_REDIRECT = 302  # a page asked for without a session redirects to the login
UNAUTHENTICATED = 401  # the API names the Bearer scheme in WWW-Authenticate


@dataclass(frozen=True)
class Entry:
    method: str
    route: str
    expect: dict[str, int]
    scopes: tuple[str, ...] = ()
    # Which world object fills each {param} of the route ("=text" for a literal).
    params: dict[str, str] = field(default_factory=dict)
    # JSON (API) or form fields (pages); "@name" stands for a world object's id.
    body: dict | str | None = None
    content_type: str = ""
    query: str = ""
    # A known departure of the code from the policy, reported to its owner: the
    # entry runs as a strict xfail, so fixing the code turns it into a failure
    # that asks for this marker to go.
    gap: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.route)


def staff(code: int) -> dict[str, int]:
    return dict.fromkeys(STAFF, code)


def api(
    method: str,
    route: str,
    *,
    scopes: tuple[str, ...] = (),
    client_with: int | None = None,
    params: dict[str, str] | None = None,
    body: dict | str | None = None,
    content_type: str = "",
    query: str = "",
    gap: str = "",
    **expect: int,
) -> Entry:
    """An API entry: anonymous 401; without the scope 403; closed to clients when no scopes."""
    full = {"anonymous": UNAUTHENTICATED, **expect}
    if scopes:
        full.setdefault("client_without", 403)
        full.setdefault("client_with", client_with if client_with is not None else expect["rep"])
    else:
        full.setdefault("client_with", 403)
        full.setdefault("client_without", 403)
    return Entry(
        method,
        route,
        full,
        scopes=scopes,
        params=params or {},
        body=body,
        content_type=content_type,
        query=query,
        gap=gap,
    )


def page(
    method: str,
    route: str,
    *,
    params: dict[str, str] | None = None,
    body: dict | None = None,
    query: str = "",
    gap: str = "",
    **expect: int,
) -> Entry:
    """A server-rendered page or fragment: anonymous (and any Bearer token) go to the login."""
    full = {
        "anonymous": LOGIN_REDIRECT,
        "client_with": LOGIN_REDIRECT,
        "client_without": LOGIN_REDIRECT,
        **expect,
    }
    return Entry(method, route, full, params=params or {}, body=body, query=query, gap=gap)


def public(method: str, route: str, code: int) -> Entry:
    return Entry(method, route, dict.fromkeys(ROLES, code))


R = "customers:read"
W = "customers:write"
IR = "interactions:read"
IW = "interactions:write"
FR = "followups:read"
FW = "followups:write"

# Supervisors (of any team) and admins; reps are refused. Each supervisor sees
# only their own teams' rows in what comes back (test_no_leaks checks that).
SUPERVISORS = {
    "rep": 403,
    "rep_other_team": 403,
    "supervisor": 200,
    "supervisor_other_team": 200,
    "admin": 200,
}
ADMINS_ONLY = {
    "rep": 403,
    "rep_other_team": 403,
    "supervisor": 403,
    "supervisor_other_team": 403,
}

MATRIX: list[Entry] = [
    # --- Operations and auth --------------------------------------------------
    # Probes answer any method: they hold no data and change nothing.
    public("GET", "/healthz", 200),
    public("POST", "/healthz", 200),
    public("GET", "/readyz", 200),
    public("POST", "/readyz", 200),
    # Prometheus: allowed by address (loopback by default, as the test client is)
    # or METRICS_TOKEN, never by role; tests/test_metrics.py covers the refusals.
    public("GET", "/metrics", 200),
    public("GET", "/accounts/login/", 200),
    # An empty login form: the form again with errors (200) for everyone.
    public("POST", "/accounts/login/", 200),
    public("PUT", "/accounts/login/", 200),
    public("POST", "/accounts/logout/", 302),
    # --- API description: names no data, public like any published API. -------
    public("GET", "/api/schema/", 200),
    public("GET", "/api/docs/", 200),
    api("GET", "/api/v1/", **staff(200)),
    # --- Customers: every rep reads and writes (not team-private). --------------
    api("GET", "/api/v1/customers/", scopes=(R,), **staff(200)),
    api("POST", "/api/v1/customers/", scopes=(W,), **staff(400)),
    api("GET", "/api/v1/customers/{pk}/", scopes=(R,), **staff(200)),
    api("PATCH", "/api/v1/customers/{pk}/", scopes=(W,), **staff(200)),
    api("PUT", "/api/v1/customers/{pk}/", scopes=(W,), **staff(400)),
    api("GET", "/api/v1/customers/duplicates/", scopes=(R,), **staff(200)),
    api("GET", "/api/v1/customers/{pk}/duplicates/", scopes=(R,), **staff(200)),
    # Merge: supervisors and admins (crm.access.can_merge_customers); an API
    # client's service account is neither, whatever its scopes.
    api(
        "POST",
        "/api/v1/customers/{pk}/merge/",
        scopes=(W,),
        body={"source": "@customer_b"},
        client_with=403,
        rep=403,
        rep_other_team=403,
        supervisor=200,
        supervisor_other_team=200,
        admin=200,
    ),
    api("GET", "/api/v1/customers/{customer_pk}/contact-points/", scopes=(R,), **staff(200)),
    api("POST", "/api/v1/customers/{customer_pk}/contact-points/", scopes=(W,), **staff(400)),
    api(
        "GET",
        "/api/v1/customers/{customer_pk}/contact-points/{pk}/",
        scopes=(R,),
        params={"pk": "contact_point"},
        **staff(200),
    ),
    api(
        "PATCH",
        "/api/v1/customers/{customer_pk}/contact-points/{pk}/",
        scopes=(W,),
        params={"pk": "contact_point"},
        **staff(200),
    ),
    api(
        "DELETE",
        "/api/v1/customers/{customer_pk}/contact-points/{pk}/",
        scopes=(W,),
        params={"pk": "contact_point"},
        **staff(204),
    ),
    api("GET", "/api/v1/customers/{customer_pk}/facts/", scopes=(R,), **staff(200)),
    api("POST", "/api/v1/customers/{customer_pk}/facts/", scopes=(W,), **staff(400)),
    api(
        "GET",
        "/api/v1/customers/{customer_pk}/facts/{pk}/",
        scopes=(R,),
        params={"pk": "fact"},
        **staff(200),
    ),
    api(
        "PATCH",
        "/api/v1/customers/{customer_pk}/facts/{pk}/",
        scopes=(W,),
        params={"pk": "fact"},
        **staff(200),
    ),
    api(
        "DELETE",
        "/api/v1/customers/{customer_pk}/facts/{pk}/",
        scopes=(W,),
        params={"pk": "fact"},
        **staff(204),
    ),
    api(
        "GET",
        "/api/v1/customers/{customer_pk}/facts/{pk}/history/",
        scopes=(R,),
        params={"pk": "fact"},
        **staff(200),
    ),
    api("GET", "/api/v1/customers/{customer_pk}/consents/", scopes=(R,), **staff(200)),
    api("POST", "/api/v1/customers/{customer_pk}/consents/", scopes=(W,), **staff(400)),
    # --- Data subject requests: admins only, never an API client. --------------
    api("GET", "/api/v1/customers/{pk}/export/", **ADMINS_ONLY, admin=200),
    api("POST", "/api/v1/customers/{pk}/erase/", **ADMINS_ONLY, admin=400),
    # --- Caller lookup (screen-pop): no number given is a 400 for whoever may ask.
    api("GET", "/api/v1/lookup/", scopes=(R,), **staff(400)),
    # The same by POST (the number in the body, never in an access log).
    api("POST", "/api/v1/lookup/", scopes=(R,), **staff(400)),
    # --- Machine ingest: API clients with interactions:write. A browser session
    # may sync too (staff import tools); the empty body is refused as invalid.
    api("POST", "/api/v1/interactions/sync/", scopes=(IW,), **staff(400)),
    api(
        "POST",
        "/api/v1/integrations/asterisk/cdr/",
        scopes=(IW,),
        body="",
        content_type="text/csv",
        **staff(400),
    ),
    # Twilio signs its callbacks instead of logging in: no session or token is
    # looked at, and an unsigned request is refused for everyone.
    Entry(
        "POST",
        "/api/v1/integrations/twilio/voice/",
        dict.fromkeys(ROLES, 403),
        body={"CallSid": "CA00000000000000000000000000000000"},
        content_type="application/x-www-form-urlencoded",
    ),
    # --- Metrics (team-private): supervisors see their teams, admins all. An API
    # client has no team, so followups:read alone shows it nothing: 403.
    *[
        api("GET", f"/api/v1/metrics/{name}/", scopes=(FR,), client_with=403, **SUPERVISORS)
        for name in ("promises", "contacts", "complaints", "csat", "board")
    ],
    # --- Interactions: the cross-channel timeline is readable by every rep; a
    # rep changes only their own interactions, supervisors their teams', admins all.
    api("GET", "/api/v1/interactions/", scopes=(IR,), **staff(200)),
    api("POST", "/api/v1/interactions/", scopes=(IW,), **staff(400)),
    api(
        "GET",
        "/api/v1/interactions/{pk}/",
        scopes=(IR,),
        params={"pk": "interaction"},
        **staff(200),
    ),
    api(
        "PATCH",
        "/api/v1/interactions/{pk}/",
        scopes=(IW,),
        params={"pk": "interaction"},
        client_with=200,
        rep=200,
        rep_other_team=403,
        supervisor=200,
        supervisor_other_team=403,
        admin=200,
    ),
    api(
        "PUT",
        "/api/v1/interactions/{pk}/",
        scopes=(IW,),
        params={"pk": "interaction"},
        client_with=200,
        rep=200,
        rep_other_team=403,
        supervisor=200,
        supervisor_other_team=403,
        admin=200,
    ),
    api(
        "POST",
        "/api/v1/interactions/{pk}/matter/",
        scopes=(IW,),
        params={"pk": "interaction"},
        client_with=400,
        rep=400,
        rep_other_team=403,
        supervisor=400,
        supervisor_other_team=403,
        admin=400,
    ),
    api(
        "POST",
        "/api/v1/interactions/email/",
        scopes=(IW,),
        body="",
        content_type="message/rfc822",
        **staff(400),
    ),
    api("GET", "/api/v1/customers/{customer_id}/timeline/", scopes=(IR,), **staff(200)),
    # --- Follow-ups (team-private): outsiders get 404, as if it did not exist. --
    api("GET", "/api/v1/followups/", scopes=(FR,), **staff(200)),
    api("POST", "/api/v1/followups/", scopes=(FW,), **staff(400)),
    *[
        api(
            method,
            route,
            scopes=scopes,
            params={"pk": "followup"},
            client_with=code,
            rep=code,
            rep_other_team=404,
            supervisor=code,
            supervisor_other_team=404,
            admin=code,
        )
        for method, route, scopes, code in [
            ("GET", "/api/v1/followups/{pk}/", (FR,), 200),
            ("POST", "/api/v1/followups/{pk}/complete/", (FW,), 200),
            ("POST", "/api/v1/followups/{pk}/cancel/", (FW,), 400),
            ("POST", "/api/v1/followups/{pk}/reassign/", (FW,), 400),
            ("POST", "/api/v1/followups/{pk}/renegotiate/", (FW,), 400),
        ]
    ],
    # --- Webhook endpoints: an API client's own, or admins (followups.api).
    api(
        "GET",
        "/api/v1/webhooks/endpoints/",
        scopes=(FR,),
        client_with=200,
        admin=200,
        **ADMINS_ONLY,
    ),
    api(
        "POST",
        "/api/v1/webhooks/endpoints/",
        scopes=(FW,),
        client_with=400,
        admin=400,
        **ADMINS_ONLY,
    ),
    *[
        api(
            method,
            route,
            scopes=scopes,
            params={"pk": "=999999", "delivery_id": "=1"},
            client_with=404,
            admin=404,
            **ADMINS_ONLY,
        )
        for method, route, scopes in [
            ("GET", "/api/v1/webhooks/endpoints/{pk}/", (FR,)),
            ("DELETE", "/api/v1/webhooks/endpoints/{pk}/", (FW,)),
            ("GET", "/api/v1/webhooks/endpoints/{pk}/deliveries/", (FR,)),
            ("POST", "/api/v1/webhooks/endpoints/{pk}/deliveries/{delivery_id}/replay/", (FW,)),
        ]
    ],
    # --- Pages ------------------------------------------------------------------
    page("GET", "/", **staff(302)),
    page("POST", "/", **staff(302)),
    page("GET", "/customers/", **staff(200)),
    # The merge queue: reps see it too (to tell a supervisor); merging stays theirs.
    page("GET", "/customers/duplicates/", **staff(200)),
    # One's own settings (time zone): any signed-in user; an empty post means "my team's".
    page("GET", "/me/", **staff(200)),
    page("POST", "/me/", **staff(302)),
    page("POST", "/customers/", **staff(200)),
    page("GET", "/customers/{customer_id}/", **staff(200)),
    page(
        "POST", "/customers/{customer_id}/contact-points/{contact_point_id}/primary/", **staff(302)
    ),
    page(
        "POST", "/customers/{customer_id}/contact-points/{contact_point_id}/remove/", **staff(302)
    ),
    # The profile card is an htmx fragment; asked for as a page it redirects to the page.
    page("GET", "/customers/{customer_id}/profile/", **staff(302)),
    page("POST", "/customers/{customer_id}/profile/", **staff(400)),
    page("GET", "/customers/{customer_id}/profile/edit/", **staff(200)),
    # Invalid form posts without htmx answer 400 with the form, its errors and values
    # (a redirect would drop them).
    page("POST", "/customers/{customer_id}/consents/", **staff(400)),
    page("POST", "/customers/{customer_id}/contact-points/", **staff(400)),
    page("POST", "/customers/{customer_id}/facts/", **staff(400)),
    page("GET", "/customers/{customer_id}/facts/{fact_id}/", **staff(200)),
    page("POST", "/customers/{customer_id}/facts/{fact_id}/", **staff(200)),
    page("POST", "/customers/{customer_id}/facts/{fact_id}/delete/", **staff(302)),
    page("POST", "/customers/{customer_id}/facts/{fact_id}/pin/", **staff(302)),
    page(
        "POST",
        "/customers/{customer_id}/merge/",
        body={"source": "@customer_b"},
        rep=403,
        rep_other_team=403,
        supervisor=302,
        supervisor_other_team=302,
        admin=302,
    ),
    # --- CSV import and export (spreadsheets): supervisors and admins only. ------
    *[
        page(
            method,
            route,
            rep=403,
            rep_other_team=403,
            supervisor=code,
            supervisor_other_team=code,
            admin=code,
        )
        for method, route, code in [
            ("GET", "/spreadsheets/imports/", 200),
            ("POST", "/spreadsheets/imports/", 400),  # no file
            ("GET", "/spreadsheets/imports/{customer_import_id}/", 200),
            ("GET", "/spreadsheets/imports/{customer_import_id}/progress/", 200),
            ("POST", "/spreadsheets/imports/{customer_import_id}/mapping/", 400),  # no name
            ("POST", "/spreadsheets/imports/{customer_import_id}/run/", 400),  # already done
            ("GET", "/spreadsheets/imports/{customer_import_id}/errors.csv", 200),
            ("GET", "/spreadsheets/customers.csv", 200),
            ("GET", "/spreadsheets/interactions.csv", 200),
            ("GET", "/spreadsheets/interactions/import/", 200),
            ("POST", "/spreadsheets/interactions/import/", 400),  # no file
        ]
    ],
    # --- Interaction pages: log form and timeline fragments for any rep. --------
    page("GET", "/interactions/customers/{customer_id}/log/", **staff(200)),
    page("POST", "/interactions/customers/{customer_id}/log/", **staff(400)),
    page("GET", "/interactions/customers/{customer_id}/timeline/", **staff(200)),
    page("POST", "/interactions/customers/{customer_id}/timeline/", **staff(200)),
    # The matter control of a timeline item (those who may not change it read a note).
    page("GET", "/interactions/{interaction_id}/matter/", **staff(200)),
    page(
        "POST",
        "/interactions/{interaction_id}/matter/",
        rep=400,
        rep_other_team=403,
        supervisor=400,
        supervisor_other_team=403,
        admin=400,
    ),
    # Staff ask the customer for CSAT about one contact (the e-mail is queued).
    page("POST", "/interactions/{interaction_id}/feedback-request/", **staff(200)),
    # The customer's CSAT page: no login, the signed token is the key.
    Entry(
        "GET",
        "/interactions/feedback/{token}/",
        dict.fromkeys(ROLES, 200),
        params={"token": "feedback_token"},
    ),
    # An empty rating is refused (400) for whoever posts it.
    Entry(
        "POST",
        "/interactions/feedback/{token}/",
        dict.fromkeys(ROLES, 400),
        params={"token": "feedback_token"},
    ),
    # --- Promise pages: each rep's day and notifications are their own; a
    # promise of team A is a 404 outside it.
    page("GET", "/followups/my-day/", **staff(200)),
    page("GET", "/followups/notifications/", **staff(200)),
    page("GET", "/followups/notifications/bell/", **staff(200)),
    page("POST", "/followups/notifications/read/", **staff(302)),
    page("GET", "/followups/customers/{customer_id}/promises/", **staff(200)),
    page(
        "GET",
        "/followups/{followup_id}/",
        rep=200,
        rep_other_team=404,
        supervisor=200,
        supervisor_other_team=404,
        admin=200,
    ),
    page(
        "POST",
        "/followups/{followup_id}/complete/",
        rep=302,
        rep_other_team=404,
        supervisor=302,
        supervisor_other_team=404,
        admin=302,
    ),
    # --- Supervisor pages (team-private) ----------------------------------------
    page("GET", "/supervisor/board/", **SUPERVISORS),
    page("GET", "/supervisor/board/summary/", **SUPERVISORS),
    page("GET", "/supervisor/board/list/", **SUPERVISORS),
    # Reassigning nothing, without htmx: back to the board (302).
    page(
        "POST",
        "/supervisor/board/reassign/",
        **{**SUPERVISORS, "supervisor": 302, "supervisor_other_team": 302, "admin": 302},
    ),
    page("GET", "/supervisor/escalations/", **SUPERVISORS),
    # Team A's escalated promise: its supervisor and admins acknowledge it (back
    # to the board, 302); team B's supervisor gets the same 403 as for an id
    # that does not exist, so the promise's existence does not leak
    # (test_no_leaks checks the two answers are identical).
    page(
        "POST",
        "/supervisor/escalations/{followup_id}/acknowledge/",
        rep=403,
        rep_other_team=403,
        supervisor=302,
        supervisor_other_team=403,
        admin=302,
    ),
    page("GET", "/supervisor/metrics/", **SUPERVISORS),
    page("GET", "/supervisor/metrics/{table}.csv", params={"table": "=promises"}, **SUPERVISORS),
]

# Not access-controlled by the app itself: the reason is the documentation.
CSRF_EXEMPT = {
    ("POST", "/api/v1/integrations/twilio/voice/"): "Twilio signs the request (X-Twilio-Signature)",
}
