"""Template context every page gets."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from crm import access


def navigation(request: HttpRequest) -> dict:
    # Lazy: asked only by the nav's admin link, after `user.is_staff` (no query
    # for reps); a superuser needs no query either.
    return {"user_is_admin": SimpleLazyObject(lambda: access.is_admin(request.user))}
