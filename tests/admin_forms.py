"""Posting Django admin forms from the test client: the inline management forms."""

import re


def inline_management(html: str) -> dict[str, str]:
    """Empty management forms for every inline the page shows (no inline rows posted)."""
    data = {}
    for prefix in re.findall(r'name="([^"]+)-TOTAL_FORMS"', html):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def post_form(client, url: str, fields: dict) -> object:
    """POST `fields` to an admin add/change page, with empty inline management forms."""
    return client.post(url, {**inline_management(client.get(url).content.decode()), **fields})


def form_errors(response) -> dict[str, list[str]]:
    """The errors of the admin form a refused POST shows again (field -> messages)."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return {name: list(messages) for name, messages in form.errors.items()}
