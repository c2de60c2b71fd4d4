"""CSRF is enforced on every state-changing URL and every form.

Every unsafe (method, route) the resolver serves is sent by a logged-in admin
(the strongest session) without a CSRF token and must be refused; sent again
with a token, the refusal must be gone, so the check is about CSRF and nothing
else. Templates are scanned too: every POST form carries {% csrf_token %}.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string

from .access_matrix import CSRF_EXEMPT, MATRIX
from .endpoints import discover_endpoints
from .world import answer

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ENTRIES = {entry.key: entry for entry in MATRIX}
UNSAFE_ENTRIES = [entry for entry in MATRIX if entry.method in UNSAFE]
ROOT = Path(settings.BASE_DIR)


def _is_csrf_refusal(response) -> bool:
    body = response.content.decode(errors="replace")
    return response.status_code == 403 and "CSRF" in body


def test_every_unsafe_endpoint_is_in_the_csrf_check():
    checked = {entry.key for entry in UNSAFE_ENTRIES}

    unchecked = [
        str(e)
        for e in discover_endpoints()
        if e.method in UNSAFE and (e.method, e.route) not in checked
    ]

    assert unchecked == []


@pytest.mark.parametrize(
    "entry", UNSAFE_ENTRIES, ids=[f"{e.method} {e.route}" for e in UNSAFE_ENTRIES]
)
def test_unsafe_request_without_csrf_token_is_refused(entry, world):
    without = answer("admin", entry, world, enforce_csrf=True)
    with_token = answer("admin", entry, world, enforce_csrf=True, csrf=_get_new_csrf_string())

    if entry.key in CSRF_EXEMPT:
        # Signed by the sender instead; refused for lack of the signature, not of a token.
        assert not _is_csrf_refusal(without)
        return
    assert _is_csrf_refusal(without), (without.status_code, without.content[:200])
    assert not _is_csrf_refusal(with_token), with_token.content[:200]


def test_login_form_refuses_a_post_without_token(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "x", "password": "y"})

    assert _is_csrf_refusal(response)


def _templates() -> list[Path]:
    found = []
    for base in [ROOT / "templates", *ROOT.glob("*/templates")]:
        if ".venv" in base.parts:
            continue
        found.extend(sorted(base.rglob("*.html")))
    return found


FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.IGNORECASE | re.DOTALL)


def test_templates_are_found():
    names = {path.name for path in _templates()}

    assert {"base.html", "login.html", "customer_detail.html"} <= names


def test_every_post_form_in_every_template_carries_the_csrf_token():
    missing = []
    for path in _templates():
        text = path.read_text()
        for form in FORM.finditer(text):
            attrs = form.group("attrs").lower()
            posts = re.search(r"method\s*=\s*[\"']?post", attrs) or "hx-post" in attrs
            if posts and "csrf_token" not in form.group("body"):
                missing.append(f"{path.relative_to(ROOT)}: <form{form.group('attrs')}>")

    assert missing == []


def test_htmx_requests_carry_the_token_from_the_base_template():
    base = (ROOT / "templates" / "base.html").read_text()

    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"\{\{ csrf_token \}\}\"\}'", base)
