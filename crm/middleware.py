"""Every page in the viewer's clock: activate the signed-in user's time zone."""

from zoneinfo import ZoneInfo

from django.utils import timezone

from crm.selectors import user_time_zone


class ViewerTimeZoneMiddleware:
    """Activates the user's zone (crm.selectors.user_time_zone) for the request, so
    templates' date filters, form initial values and parsed form datetimes all use it.
    The API (/api/) and requests without a signed-in user (the public feedback page)
    stay in UTC: API clients read times in UTC whoever signed in."""

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
            timezone.activate(ZoneInfo(user_time_zone(user)))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
