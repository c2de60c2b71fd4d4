"""Template context every page gets."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from crm import access


def navigation(request: HttpRequest) -> dict:
    # Lazy, and free on a signed-in page: crm.middleware has read the viewer's roles
    # (core.roles.KnownRoles) with the time zone, so neither asks the database.
    return {
        "user_is_admin": SimpleLazyObject(lambda: access.is_admin(request.user)),
        # The board and metrics are for supervisors and admins (reporting's board_scope).
        "user_sees_board": SimpleLazyObject(
            lambda: access.is_admin(request.user) or access.is_supervisor(request.user)
        ),
    }
