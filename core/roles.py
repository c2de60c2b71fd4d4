"""Who is an admin: the one role the shared plumbing itself asks about (crm.access has the rest)."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

ADMIN_GROUP = "admins"

AnyUser = AbstractBaseUser | AnonymousUser


def is_admin(user: AnyUser) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=ADMIN_GROUP).exists()


def require_admin(user: AnyUser) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only admins may do this.")
