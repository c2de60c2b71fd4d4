"""The permission matrix: every endpoint, every role, the documented answer.

Endpoints are discovered from the URL resolver (tests/security/endpoints.py),
so a new endpoint without an entry in access_matrix.py fails
`test_every_endpoint_has_a_matrix_entry`; an entry for an endpoint that no
longer exists fails `test_every_matrix_entry_is_a_real_endpoint`.
"""

import pytest

from .access_matrix import MATRIX, ROLES
from .endpoints import discover_endpoints
from .world import answer


def test_every_endpoint_has_a_matrix_entry():
    documented = {entry.key for entry in MATRIX}

    missing = [str(e) for e in discover_endpoints() if (e.method, e.route) not in documented]

    assert missing == [], "Add these to tests/security/access_matrix.py:\n" + "\n".join(missing)


def test_every_matrix_entry_is_a_real_endpoint():
    served = {(e.method, e.route) for e in discover_endpoints()}

    stale = [f"{entry.method} {entry.route}" for entry in MATRIX if entry.key not in served]

    assert stale == []


def test_matrix_has_one_entry_per_endpoint_and_every_role():
    keys = [entry.key for entry in MATRIX]

    assert len(keys) == len(set(keys))
    incomplete = [entry.key for entry in MATRIX if set(entry.expect) != set(ROLES)]
    assert incomplete == []


def _cases():
    for entry in MATRIX:
        marks = [pytest.mark.xfail(strict=True, reason=entry.gap)] if entry.gap else []
        yield pytest.param(entry, id=f"{entry.method} {entry.route}", marks=marks)


@pytest.mark.parametrize("entry", list(_cases()))
def test_endpoint_answers_every_role_as_documented(entry, world):
    answers = {role: answer(role, entry, world).status_code for role in ROLES}

    wrong = {
        role: f"got {answers[role]}, documented {entry.expect[role]}"
        for role in ROLES
        if answers[role] != entry.expect[role]
    }
    assert wrong == {}
