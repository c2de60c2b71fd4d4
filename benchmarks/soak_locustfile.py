"""The soak's traffic: a 200-rep contact centre's day at 10x speed (benchmarks/soak.py).

The rate: 200 reps each handling a contact about every 8 minutes (handle time
plus wrap-up) is 0.4 contacts/s; at 10x, 4 contacts/s, which 40 rep sessions
with one contact every 10 s replay. Every inbound call pops the caller's id (4
lookups/s) and its call record reaches Rapport through the PBX's CDR upload;
one integration meanwhile syncs call records back to back (its throughput is
what is measured). Supervisors reload the board every 2-4 s (a 30-s refresh
at 10x) and now and then the metrics. Each rep and screen-pop client starts at
a random point of its period, so calls arrive spread over time, as they do.

The mix is what a browser asks for, not a shortcut through the API. Per contact
a rep searches the caller by name (one match redirects to the customer page; a
list is clicked through), and the customer page's shell loads, as its htmx
attributes say, the nav's notification bell and the three panels
(log form, open promises, timeline) at once, as a browser does; the rep logs the
contact with the page's form (one time in three with a promise due in minutes,
so the sweep has reminders and overdue transitions to make), and the
"interaction-logged" event reloads the timeline and the promises panel. One
contact in five the rep also opens My day.

Configuration comes from the JSON file named by SOAK_DATA (written by soak.py).
FastHttpUser (geventhttpclient): a fraction of python-requests' CPU per request,
so the generator takes less of the machine it measures (soak.py reports its share).
"""

import json
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import gevent
from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

DATA = json.loads(open(os.environ["SOAK_DATA"]).read())  # noqa: SIM115
# Batch uploads (sync, CDR) go to the bulk pool when the soak runs one, as the proxy
# in front of a production install routes them (docs/operations.md); "" is the host.
BULK = DATA.get("bulk_host", "")
CONTACT_SECONDS = float(os.environ.get("SOAK_CONTACT_SECONDS", "10"))
CDR_SECONDS = 10.0
LOG_FORM_TIME = "%Y-%m-%dT%H:%M"  # the form's datetime-local, in the rep's clock (UTC here)
# Every request's end time, name and time waited, one line each (soak.py puts the reps'
# p99 on a timeline beside the worker's tasks: when the slow answers happen).
REQUEST_LOG = os.environ.get("SOAK_REQUEST_LOG")
_request_lines = open(REQUEST_LOG, "a", buffering=1 << 16) if REQUEST_LOG else None  # noqa: SIM115


@events.request.add_listener
def _log_request(request_type, name, response_time, exception=None, **_) -> None:  # noqa: ANN001
    if _request_lines is not None:
        _request_lines.write(
            f"{time.time():.3f}\t{name}\t{response_time:.1f}\t{int(bool(exception))}\n"
        )


@events.quitting.add_listener
def _close_request_log(**_) -> None:  # noqa: ANN003
    if _request_lines is not None:
        _request_lines.flush()


def _now() -> datetime:
    return datetime.now(tz=UTC)


def paced(seconds: float):
    """A wait_time that starts each user's task every `seconds`, counted from the end
    of its own on_start. locust's constant_pacing counts from when the user was
    spawned: a random phase slept in on_start was then taken back by the first wait,
    and every rep called in the same few seconds of each 10-s cycle (the spawn's
    two seconds plus the queue it made: 2.5x the average rate in bursts, idle between).
    A slow answer does not move the schedule: calls keep coming at their pace."""

    def wait_time(user) -> float:
        user.next_task_at += seconds
        return max(0.0, user.next_task_at - time.monotonic())

    return wait_time


def start_pacing(user, seconds: float) -> None:
    """Begin the user's schedule after a random part of one period. Users are spawned
    within a few seconds; started together, all 40 reps would call at the same
    instant every 10 s (bursts of hundreds of requests, then idle), which no
    contact centre does: calls arrive spread over time."""
    gevent.sleep(random.uniform(0, seconds))  # noqa: S311
    user.next_task_at = time.monotonic()


class _BrowserUser(FastHttpUser):
    """A signed-in browser: a page brings the nav's bell (templates/base.html)."""

    abstract = True
    usernames: list[str] = []

    def on_start(self) -> None:
        self.username = random.choice(self.usernames)  # noqa: S311
        self.client.get("/accounts/login/", name="login page")
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": DATA["password"],
                "csrfmiddlewaretoken": self.csrf_token(),
            },
            headers={"Referer": self.host + "/accounts/login/"},
            name="login",
        )

    def csrf_token(self) -> str:
        return next(
            (cookie.value for cookie in self.client.cookiejar if cookie.name == "csrftoken"), ""
        )

    def fragment(self, path: str, name: str):
        return self.client.get(path, headers={"HX-Request": "true"}, name=name)

    def together(self, *requests: tuple[str, str]) -> None:
        """Fragments a page loads at once (htmx fires them in parallel)."""
        gevent.joinall([gevent.spawn(self.fragment, path, name) for path, name in requests])

    def page(self, path: str, name: str, *fragments: tuple[str, str]) -> None:
        self.client.get(path, name=name)
        self.together(("/followups/notifications/bell/", "nav bell"), *fragments)


class Rep(_BrowserUser):
    weight = 40
    usernames = DATA["reps"]
    wait_time = paced(CONTACT_SECONDS)

    def on_start(self) -> None:
        super().on_start()
        start_pacing(self, CONTACT_SECONDS)

    @task
    def contact(self) -> None:
        customer = random.choice(DATA["customers"])  # noqa: S311
        pk = customer["id"]
        found = self.client.get(
            f"/customers/?q={customer['last_name']}",
            name="customer search page",
            allow_redirects=False,
        )
        if found.status_code == 200:
            # Several names start so ("Okafor12": Okafor120..129): a list page; the rep
            # picks the caller from it.
            self.fragment("/followups/notifications/bell/", "nav bell")
        self.page(
            f"/customers/{pk}/",
            "customer page",
            (f"/interactions/customers/{pk}/log/", "log form"),
            (f"/followups/customers/{pk}/promises/", "promises panel"),
            (f"/interactions/customers/{pk}/timeline/", "timeline panel"),
        )
        now = _now()
        form = {
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": (now - timedelta(minutes=4)).strftime(LOG_FORM_TIME),
            "duration_minutes": str(random.randint(1, 15)),  # noqa: S311
            "summary": "Asked about the order; explained the next steps.",
            "outcome": "",
            "promise-priority": "normal",
            "csrfmiddlewaretoken": self.csrf_token(),
        }
        if random.random() < 1 / 3:  # noqa: S311
            form |= {
                "promise-make_promise": "on",
                "promise-action": "Call back with the delivery date",
                "promise-due_phrase": f"in {random.randint(2, 8)} minutes",  # noqa: S311
            }
        logged = self.client.post(
            f"/interactions/customers/{pk}/log/",
            data=form,
            headers={"HX-Request": "true", "Referer": f"{self.host}/customers/{pk}/"},
            name="log form (post)",
        )
        if logged.status_code == 200:
            # HX-Trigger "interaction-logged": the panels listening reload themselves.
            self.together(
                (f"/followups/customers/{pk}/promises/", "promises panel"),
                (f"/interactions/customers/{pk}/timeline/", "timeline panel"),
            )
        if random.random() < 0.2:  # noqa: S311
            self.page("/followups/my-day/", "my day")


class Supervisor(_BrowserUser):
    weight = 10
    usernames = DATA["supervisors"]
    wait_time = between(2, 4)

    @task(5)
    def board(self) -> None:
        self.page("/supervisor/board/", "board page")

    @task(1)
    def metrics(self) -> None:
        self.page("/supervisor/metrics/", "metrics page")


class _ApiClient(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        self.client.auth_header = f"Bearer {DATA['api_secret']}"


class ScreenPop(_ApiClient):
    weight = 4
    wait_time = paced(1)

    def on_start(self) -> None:
        super().on_start()
        start_pacing(self, 1)

    @task
    def lookup(self) -> None:
        customer = random.choice(DATA["customers"])  # noqa: S311
        self.client.get(f"/api/v1/lookup/?phone={customer['phone']}", name="/api/v1/lookup/")


class CdrUpload(_ApiClient):
    """The PBX uploads the Master.csv lines of the calls of the last 10 s (4 calls/s)."""

    fixed_count = 1
    wait_time = paced(CDR_SECONDS)

    def on_start(self) -> None:
        super().on_start()
        self.next_task_at = time.monotonic()

    @task
    def upload(self) -> None:
        lines = []
        end = _now()
        for _ in range(round(CDR_SECONDS * 40 / CONTACT_SECONDS)):
            customer = random.choice(DATA["customers"])  # noqa: S311
            number = customer["phone"].removeprefix("+1")
            talk = random.randint(30, 600)  # noqa: S311
            start = end - timedelta(seconds=talk + 5)
            fields = [
                "", number, "1001", "from-pstn", f'"Caller" <{number}>', "PJSIP/trunk-1",
                "PJSIP/1001-1", "Dial", "PJSIP/1001,30", f"{start:%Y-%m-%d %H:%M:%S}",
                f"{start + timedelta(seconds=5):%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}",
                str(talk + 5), str(talk), "ANSWERED", "DOCUMENTATION", uuid.uuid4().hex, "",
            ]  # fmt: skip
            lines.append(
                ",".join(
                    field if field.isdigit() else '"' + field.replace('"', '""') + '"'
                    for field in fields
                )
            )
        self.client.post(
            f"{BULK}/api/v1/integrations/asterisk/cdr/?source=soak-pbx",
            data="\n".join(lines) + "\n",
            headers={"Content-Type": "text/csv"},
            name="/api/v1/integrations/asterisk/cdr/",
        )


class Sync(_ApiClient):
    """One integration pushing its call records back to back (throughput is measured)."""

    fixed_count = 1
    wait_time = constant(0)

    @task
    def batch(self) -> None:
        records = []
        for _ in range(DATA["sync_batch"]):
            customer = random.choice(DATA["customers"])  # noqa: S311
            records.append(
                {
                    "source": "soak-sync",
                    "external_id": uuid.uuid4().hex,
                    "channel": "phone",
                    "direction": "inbound",
                    "occurred_at": (_now() - timedelta(minutes=10)).isoformat(),
                    "duration_seconds": random.randint(30, 600),  # noqa: S311
                    "customer_phone": customer["phone"],
                }
            )
        self.client.post(
            f"{BULK}/api/v1/interactions/sync/",
            json={"records": records},
            name="/api/v1/interactions/sync/",
        )
