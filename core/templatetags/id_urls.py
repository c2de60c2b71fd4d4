"""`{% id_url 'app:name' pk %}`: the `{% url %}` of a route whose one argument is an
integer id, for lists that link every row.

`reverse()` matches every candidate against the route's regex and looks the
namespace up on each call: two links in each of a timeline's 25 items took a
fifth of the fragment's time. Here the route is reversed once (per script
prefix and URLconf) for a sentinel id, and each id takes the sentinel's place;
an `int` path converter writes an id as `str(id)`, so the result is what
`reverse()` gives (tests/test_id_urls.py compares them). Anything but a
non-negative int goes to `reverse()` itself.
"""

from functools import lru_cache

from django import template
from django.core.exceptions import ImproperlyConfigured
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

_SENTINEL = 918273645546372819


@lru_cache(maxsize=512)
def _around_id(viewname: str, script_prefix: str, urlconf: str | None) -> tuple[str, str]:
    url = reverse(viewname, args=[_SENTINEL], urlconf=urlconf)
    head, found, tail = url.partition(str(_SENTINEL))
    if not found or str(_SENTINEL) in tail:
        raise ImproperlyConfigured(f"{viewname} does not take one integer id.")
    return head, tail


def id_url(viewname: str, pk: object) -> str:
    if type(pk) is not int or pk < 0:
        return reverse(viewname, args=[pk])
    head, tail = _around_id(viewname, get_script_prefix(), get_urlconf())
    return f"{head}{pk}{tail}"


register.simple_tag(id_url, name="id_url")
