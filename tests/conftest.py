import os

import pytest

from tests import factories
from tests.processes import CeleryProcess, flush_broker, process_env


@pytest.fixture
def user(db):
    return factories.UserFactory()


@pytest.fixture
def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def celery_processes(transactional_db, tmp_path):
    """Start real worker/beat processes: `start("worker")`, `start("beat")`."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("REDIS_URL is not set: run the suite with `make test`.")
    flush_broker(redis_url)
    started: list[CeleryProcess] = []

    def start(kind: str, *extra_args: str, **env: str) -> CeleryProcess:
        log_path = tmp_path / f"{kind}-{len(started)}.log"
        process = CeleryProcess(kind, log_path, process_env(**env), list(extra_args))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
