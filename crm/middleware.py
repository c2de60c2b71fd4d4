"""Every page in the viewer's clock: activate the signed-in user's time zone."""

from zoneinfo import ZoneInfo

from django.utils import timezone

from core.roles import remember_roles
from crm.selectors import viewer_roles_and_time_zone


class ViewerTimeZoneMiddleware:
    """Activates the user's zone (as crm.selectors.user_time_zone) for the request, so
    templates' date filters, form initial values and parsed form datetimes all use it.
    The API (/api/) and requests without a signed-in user (the public feedback page)
    stay in UTC: API clients read times in UTC whoever signed in.

    The same query reads the user's roles, kept on the user for the request
    (core.roles.KnownRoles): a page's access checks then cost no query each."""

    API_PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path_info.startswith(self.API_PREFIX)
        ):
            roles, zone = viewer_roles_and_time_zone(user)
            remember_roles(user, roles)
            timezone.activate(ZoneInfo(zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
