"""Who may see and change what. Services and selectors call these; views only pass the user.

The policy (docs/access.md has the full matrix):
- admin (superuser, or member of the "admins" group): everything, including
  export, erasure, cross-team merge, API clients and policies.
- supervisor: a TeamMembership with role "supervisor"; manages the promises,
  board, escalations and metrics of the teams they supervise.
- rep: a TeamMembership with role "rep"; reads every customer profile and the
  whole cross-channel timeline (a caller's history is not team-private), writes
  customers, facts and their own interactions, and works the promises of their
  own teams.
- Team-private data is promises (follow-ups), their history, notifications,
  escalations, the board and metrics: invisible outside the owning team(s),
  except to admins.
"""

from django.core.exceptions import PermissionDenied

from core.roles import ADMIN_GROUP, AnyUser, is_admin, known_roles, require_admin
from crm.models import TeamMembership

__all__ = [
    "ADMIN_GROUP",
    "AnyUser",
    "is_admin",
    "require_admin",
]  # re-exported: the roles every app asks about


def is_staff_member(user: AnyUser) -> bool:
    """A rep, supervisor or admin: anyone who may use the CRM at all."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_admin(user):
        return True
    roles = known_roles(user)
    if roles is not None:
        return bool(roles.team_ids)
    return TeamMembership.objects.filter(user=user).exists()


def team_ids_of(user: AnyUser) -> set[int]:
    """Teams the user belongs to in any role."""
    if not getattr(user, "is_authenticated", False):
        return set()
    roles = known_roles(user)
    if roles is not None:
        return set(roles.team_ids)
    return set(TeamMembership.objects.filter(user=user).values_list("team_id", flat=True))


def supervised_team_ids(user: AnyUser) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    roles = known_roles(user)
    if roles is not None:
        return set(roles.supervised_team_ids)
    return set(
        TeamMembership.objects.filter(user=user, role=TeamMembership.Role.SUPERVISOR).values_list(
            "team_id", flat=True
        )
    )


def is_supervisor(user: AnyUser) -> bool:
    return bool(supervised_team_ids(user))


def require_staff_member(user: AnyUser) -> None:
    if not is_staff_member(user):
        raise PermissionDenied("Only members of a team may do this.")


def can_merge_customers(user: AnyUser) -> bool:
    """Merging rewrites other teams' history (their interactions and promises
    move to the survivor), so it is for supervisors and admins, not reps."""
    return is_admin(user) or is_supervisor(user)


def require_customer_merge(user: AnyUser) -> None:
    if not can_merge_customers(user):
        raise PermissionDenied("Only supervisors and admins may merge customers.")
