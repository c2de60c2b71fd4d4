"""Pages and htmx fragments: my day, a promise's history, the customer panel, the bell."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm import access
from followups import notifications, selectors, services
from followups.forms import CompleteForm


def _require_staff(request: HttpRequest) -> None:
    access.require_staff_member(request.user)


@login_required
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    day = selectors.followup_my_day(user=request.user)
    return render(request, "followups/my_day.html", {"day": day, "form": CompleteForm()})


@login_required
@require_POST
def followup_complete_inline(request: HttpRequest, followup_id: int) -> HttpResponse:
    """htmx: complete a promise from a list and answer with its replaced row."""
    _require_staff(request)
    followup = selectors.access_followup(user=request.user, followup_id=followup_id)
    form = CompleteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            followup = services.followup_complete(
                followup_id=followup.pk, user=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        except PermissionDenied as exc:
            error = str(exc)
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors)
    tz_name = timezone.get_current_timezone_name()
    context = {"followup": followup, "tz_name": tz_name, "error": error, "form": form}
    if not request.headers.get("HX-Request"):
        if not error:
            return redirect("followups:my-day")
        context.update(
            fragment_template="followups/_row.html",
            wrap_table=True,
            back_url=reverse("followups:my-day"),
        )
        return render(request, "fragment_page.html", context, status=400)
    return render(request, "followups/_row.html", context, status=400 if error else 200)


@login_required
@require_GET
def followup_detail(request: HttpRequest, followup_id: int) -> HttpResponse:
    _require_staff(request)
    followup = selectors.access_followup(user=request.user, followup_id=followup_id)
    return render(
        request,
        "followups/detail.html",
        {"followup": followup, "tz_name": timezone.get_current_timezone_name()},
    )


@login_required
@require_GET
def customer_promises(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Fragment for the customer page (settings.CUSTOMER_PAGE_PANELS)."""
    _require_staff(request)
    promises = selectors.customer_open_promises(user=request.user, customer_id=customer_id)
    return render(
        request,
        "followups/customer_promises.html",
        {
            "promises": promises,
            "customer_id": customer_id,
            "tz_name": timezone.get_current_timezone_name(),
            "form": CompleteForm(),
        },
    )


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """Fragment polled by the nav (hx-trigger="load, every 30s")."""
    count = selectors.notification_unread_count(user=request.user)
    return render(request, "followups/bell.html", {"unread": count})


def _inbox(request: HttpRequest, template: str) -> HttpResponse:
    notifications = selectors.notification_inbox(user=request.user)
    return render(
        request,
        template,
        {"notifications": notifications, "tz_name": timezone.get_current_timezone_name()},
    )


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    return _inbox(request, "followups/notifications.html")


@login_required
@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    raw_ids = request.POST.getlist("notification")
    ids = [int(raw) for raw in raw_ids if raw.isdigit() and len(raw) < 19] if raw_ids else None
    notifications.notifications_mark_read(user=request.user, notification_ids=ids)
    if request.headers.get("HX-Request"):
        response = _inbox(request, "followups/_notification_items.html")
        # The bell listens for this and refreshes its count at once.
        response["HX-Trigger"] = "notifications-read"
        return response
    return redirect("followups:notifications")
