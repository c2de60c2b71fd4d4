"""The traffic of a contact centre's day for `benchmarks/soak.py` (locust).

Reps (most users) work one contact per pacing interval: look the caller up by
phone, search, read the timeline, log the interaction, promise a follow-up one
time in three, check their overdue list. Supervisors read the board and
metrics figures; one phone system pushes sync batches, another uploads
Asterisk CDR lines. Everything goes through the API with one client's bearer
secret (pages need HTTPS cookies; the API is what the reps' screens call).

The data (customers, phones, reps, secret) comes from the JSON file named by
SOAK_DATA; the pace from SOAK_SPEED (10: a working day in 48 minutes).
"""

import json
import os
import random
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, constant_pacing, task

from tests.contract.asterisk_fixtures import cdr_line

DATA = json.loads(open(os.environ["SOAK_DATA"]).read())  # noqa: PTH123, SIM115
SPEED = float(os.environ.get("SOAK_SPEED", "10"))
# A rep handles about 60 contacts in an 8-hour day: one every 8 minutes.
CONTACT_SECONDS = 8 * 60 / SPEED
HEADERS = {"Authorization": f"Bearer {DATA['secret']}"}


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


class Rep(HttpUser):
    weight = 20
    wait_time = constant_pacing(CONTACT_SECONDS)

    def on_start(self) -> None:
        self.rep = random.choice(DATA["reps"])  # noqa: S311
        self.count = 0

    @task
    def one_contact(self) -> None:
        customer = random.choice(DATA["customers"])  # noqa: S311
        self.client.get(
            "/api/v1/lookup/",
            params={"phone": customer["phone"]},
            headers=HEADERS,
            name="lookup by phone",
        )
        self.client.get(
            "/api/v1/customers/",
            params={"search": customer["name"].split()[-1]},
            headers=HEADERS,
            name="customer search",
        )
        self.client.get(
            f"/api/v1/customers/{customer['id']}/timeline/",
            headers=HEADERS,
            name="timeline",
        )
        self.count += 1
        response = self.client.post(
            "/api/v1/interactions/",
            json={
                "customer": customer["id"],
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": _now(),
                "duration_seconds": random.randint(60, 900),  # noqa: S311
                "rep": self.rep,
                "summary": "Asked about the invoice",
            },
            headers=HEADERS,
            name="log interaction",
        )
        if self.count % 3 == 0 and response.status_code == 201:
            due = datetime.now(tz=UTC) + timedelta(minutes=random.randint(5, 240))  # noqa: S311
            self.client.post(
                "/api/v1/followups/",
                json={
                    "customer": customer["id"],
                    "action": "Call back with the answer",
                    "due_at": due.isoformat(),
                    "owner": self.rep,
                    "origin_interaction": response.json()["id"],
                },
                headers=HEADERS,
                name="promise",
            )
        self.client.get(
            "/api/v1/followups/",
            params={"owner": self.rep, "overdue": "true"},
            headers=HEADERS,
            name="my overdue promises",
        )


class Supervisor(HttpUser):
    weight = 1
    wait_time = between(20, 40)

    @task
    def figures(self) -> None:
        for path, name in (
            ("/api/v1/metrics/board/", "board counts"),
            ("/api/v1/metrics/promises/", "promise metrics"),
            ("/api/v1/metrics/contacts/", "contact metrics"),
        ):
            self.client.get(path, headers=HEADERS, name=name)


class PhoneSystem(HttpUser):
    fixed_count = 1
    wait_time = constant_pacing(10)

    def on_start(self) -> None:
        self.batch = 0

    @task
    def sync_batch(self) -> None:
        self.batch += 1
        records = []
        for n in range(50):
            customer = random.choice(DATA["customers"])  # noqa: S311
            records.append(
                {
                    "source": "soak-pbx",
                    "external_id": f"{os.getpid()}-{self.batch}-{n}",
                    "channel": "phone",
                    "direction": "inbound",
                    "occurred_at": _now(),
                    "duration_seconds": 30 + n,
                    "customer_phone": customer["phone"],
                }
            )
        self.client.post(
            "/api/v1/interactions/sync/",
            json={"records": records},
            headers=HEADERS,
            name="sync batch (50)",
        )


class Asterisk(HttpUser):
    fixed_count = 1
    wait_time = constant_pacing(15)

    def on_start(self) -> None:
        self.upload = 0

    @task
    def cdr_upload(self) -> None:
        self.upload += 1
        now = datetime.now(tz=UTC)
        lines = []
        for n in range(20):
            customer = random.choice(DATA["customers"])  # noqa: S311
            start = now - timedelta(minutes=5)
            lines.append(
                cdr_line(
                    src=customer["phone"].lstrip("+"),
                    clid=f"<{customer['phone'].lstrip('+')}>",
                    start=start.strftime("%Y-%m-%d %H:%M:%S"),
                    answer=(start + timedelta(seconds=4)).strftime("%Y-%m-%d %H:%M:%S"),
                    end=(start + timedelta(seconds=120)).strftime("%Y-%m-%d %H:%M:%S"),
                    uniqueid=f"{os.getpid()}{self.upload}.{n}",
                )
            )
        self.client.post(
            "/api/v1/integrations/asterisk/cdr/?source=soak-asterisk",
            data="\n".join(lines) + "\n",
            headers={**HEADERS, "Content-Type": "text/csv"},
            name="CDR upload (20)",
        )
