"""Who is an admin: the one role the shared plumbing itself asks about (crm.access has the rest)."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

ADMIN_GROUP = "admins"

AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class KnownRoles:
    """A signed-in user's roles, read once for a request.

    crm.middleware loads them with the viewer's time zone in the one query it makes
    anyway and keeps them on the request's user object, so the several checks a page
    makes (is this an admin, a member, which teams) cost no query each; like
    Django's own permission cache on the user, they hold for that request. A user
    object without them (API clients, tasks, tests) is asked the database as before.
    """

    is_admin: bool
    team_ids: frozenset[int]
    supervised_team_ids: frozenset[int]


_KNOWN_ROLES = "_rapport_known_roles"


def remember_roles(user: AbstractBaseUser, roles: KnownRoles) -> None:
    setattr(user, _KNOWN_ROLES, roles)


def known_roles(user: AnyUser) -> KnownRoles | None:
    return getattr(user, _KNOWN_ROLES, None)


def is_admin(user: AnyUser) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    roles = known_roles(user)
    if roles is not None:
        return roles.is_admin
    return user.groups.filter(name=ADMIN_GROUP).exists()


def require_admin(user: AnyUser) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only admins may do this.")
