"""The soak's traffic: a 200-rep contact centre's day at 10x speed (benchmarks/soak.py).

Per contact a rep finds the caller (name search), opens the customer page, reads
the timeline, logs the interaction and, one time in three, a promise due within
minutes (so the sweep has reminders and overdue transitions to make during the
run). The phone system pops caller ids and syncs its call records in batches
back to back; supervisors watch the board and the metrics.

Configuration comes from the JSON file named by SOAK_DATA (written by soak.py).
"""

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, constant, constant_pacing, task

DATA = json.loads(open(os.environ["SOAK_DATA"]).read())  # noqa: SIM115
CONTACT_SECONDS = float(os.environ.get("SOAK_CONTACT_SECONDS", "10"))


def _now() -> datetime:
    return datetime.now(tz=UTC)


class _SessionUser(HttpUser):
    abstract = True
    usernames: list[str] = []

    def on_start(self) -> None:
        self.username = random.choice(self.usernames)  # noqa: S311
        self.client.get("/accounts/login/", name="login page")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post(
            "/accounts/login/",
            {"username": self.username, "password": DATA["password"], "csrfmiddlewaretoken": token},
            headers={"Referer": self.host + "/accounts/login/"},
            name="login",
        )
        self.csrf = self.client.cookies.get("csrftoken", token)

    def api_post(self, path: str, body: dict, name: str):
        return self.client.post(
            path,
            json=body,
            headers={"X-CSRFToken": self.csrf, "Referer": self.host + "/"},
            name=name,
        )


class Rep(_SessionUser):
    weight = 40
    usernames = DATA["reps"]
    wait_time = constant_pacing(CONTACT_SECONDS)

    @task
    def contact(self) -> None:
        customer = random.choice(DATA["customers"])  # noqa: S311
        self.client.get(f"/customers/?q={customer['last_name']}", name="customer search page")
        self.client.get(f"/customers/{customer['id']}/", name="customer page")
        self.client.get(
            f"/api/v1/customers/{customer['id']}/timeline/", name="/api/v1/customers/{id}/timeline/"
        )
        logged = self.api_post(
            "/api/v1/interactions/",
            {
                "customer": customer["id"],
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": (_now() - timedelta(minutes=4)).isoformat(),
                "duration_seconds": random.randint(60, 900),  # noqa: S311
                "summary": "Asked about the order; explained the next steps.",
            },
            "/api/v1/interactions/ (create)",
        )
        if random.random() < 1 / 3 and logged.status_code == 201:  # noqa: S311
            self.api_post(
                "/api/v1/followups/",
                {
                    "customer": customer["id"],
                    "action": "Call back with the delivery date",
                    "due_at": (_now() + timedelta(minutes=random.randint(2, 8))).isoformat(),  # noqa: S311
                    "owner": DATA["rep_ids"][self.username],
                    "origin_interaction": logged.json()["id"],
                },
                "/api/v1/followups/ (create)",
            )
        if random.random() < 0.2:  # noqa: S311
            self.client.get("/followups/my-day/", name="my day")


class Supervisor(_SessionUser):
    weight = 10
    usernames = DATA["supervisors"]
    wait_time = between(2, 4)

    @task(5)
    def board(self) -> None:
        self.client.get("/supervisor/board/", name="board page")

    @task(1)
    def metrics(self) -> None:
        self.client.get("/supervisor/metrics/", name="metrics page")


class _ApiClient(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {DATA['api_secret']}"


class ScreenPop(_ApiClient):
    weight = 4
    wait_time = constant_pacing(1)

    @task
    def lookup(self) -> None:
        customer = random.choice(DATA["customers"])  # noqa: S311
        self.client.get(f"/api/v1/lookup/?phone={customer['phone']}", name="/api/v1/lookup/")


class Sync(_ApiClient):
    """One phone system pushing its call records back to back (throughput is measured)."""

    fixed_count = 1
    wait_time = constant(0)

    @task
    def batch(self) -> None:
        records = []
        for _ in range(DATA["sync_batch"]):
            customer = random.choice(DATA["customers"])  # noqa: S311
            records.append(
                {
                    "source": "soak-pbx",
                    "external_id": uuid.uuid4().hex,
                    "channel": "phone",
                    "direction": "inbound",
                    "occurred_at": (_now() - timedelta(minutes=10)).isoformat(),
                    "duration_seconds": random.randint(30, 600),  # noqa: S311
                    "customer_phone": customer["phone"],
                }
            )
        self.client.post(
            "/api/v1/interactions/sync/",
            json={"records": records},
            name="/api/v1/interactions/sync/",
        )
