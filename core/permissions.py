"""`HasScope`: what an API client may do is what its scopes name, nothing else.

A view declares `required_scopes`, a dict keyed by viewset action
(`list`, `create`, `sync`, ...) or HTTP method (`GET`, `POST`, ...), with `*`
as a fallback; values are lists of scopes, all required. A view that declares
nothing for a request is closed to API clients. Session users (reps,
supervisors, admins in the browser) are not scoped: they pass when logged in
and the app's access rules (crm.access, called by services and selectors)
decide by role.
"""

from rest_framework.permissions import BasePermission

from core.authentication import api_client_of


def required_scopes_for(request, view) -> list[str] | None:
    declared = getattr(view, "required_scopes", None) or {}
    action = getattr(view, "action", None)
    for key in (action, request.method, "*"):
        if key and key in declared:
            return list(declared[key])
    return None


class HasScope(BasePermission):
    message = "This API client lacks the scope for this request."

    def has_permission(self, request, view) -> bool:
        client = api_client_of(request)
        if client is None:
            user = request.user
            return bool(user and user.is_authenticated and user.is_active)
        needed = required_scopes_for(request, view)
        if needed is None:
            return False
        if not client.has_scopes(needed):
            self.message = f"This API client needs the scope(s): {', '.join(needed)}."
            return False
        return True
