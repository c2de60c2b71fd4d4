"""HTML: the rep's log form and the timeline (htmx fragments for the customer page),
linking matters, and the customer's feedback page (no login)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from crm import access
from crm import selectors as crm_selectors
from interactions import matters, selectors, services
from interactions.feedback_links import (
    FeedbackLinkError,
    feedback_link_is_expired,
    feedback_token_read,
)
from interactions.forms import FeedbackForm, InteractionLogForm
from interactions.hooks import interaction_form_extensions
from interactions.models import Feedback, FeedbackLink, Interaction, Matter
from interactions.tasks import feedback_request_send

# Fired on the page after a successful log; the timeline fragment reloads on it.
LOGGED_EVENT = "interaction-logged"
# A contact can be moved into an open matter (the newest this many), or out into its own.
LINKABLE_MATTERS = 20


def _require_staff(request: HttpRequest) -> None:
    if not access.is_staff_member(request.user):
        raise PermissionDenied("Only members of a team may do this.")


def _apply_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


@login_required
@require_http_methods(["GET", "POST"])
def customer_log_form(request: HttpRequest, customer_id: int) -> HttpResponse:
    """GET: the empty form. POST: validate the form and every extension form; only
    when all are valid, log and save the extensions in one transaction."""
    _require_staff(request)
    customer = crm_selectors.customer_get(customer_id=customer_id)
    extensions = interaction_form_extensions()
    data = request.POST if request.method == "POST" else None
    form = InteractionLogForm(data=data)
    extension_forms = [
        (extension, extension.build_form(data=data, customer=customer, user=request.user))
        for extension in extensions
    ]
    logged = None
    if data is not None:
        # Validate all (no short-circuit) so every form shows its errors at once.
        valid = [form.is_valid()] + [ext_form.is_valid() for _, ext_form in extension_forms]
        if all(valid):
            try:
                logged = services.interaction_log_with_extensions(
                    extensions=extension_forms,
                    user=request.user,
                    customer=customer,
                    rep=request.user,
                    **form.log_arguments(),
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
        if logged is not None:
            if request.headers.get("HX-Request") != "true":
                return redirect(reverse("crm:customer-detail", args=[customer.pk]))
            form = InteractionLogForm()
            extension_forms = [
                (ext, ext.build_form(data=None, customer=customer, user=request.user))
                for ext in extensions
            ]
    context = {
        "customer": customer,
        "form": form,
        "extension_forms": extension_forms,
        "logged": logged,
    }
    invalid = data is not None and logged is None
    if invalid and request.headers.get("HX-Request") != "true":
        # Posted without htmx: the form with its errors and values on a whole page.
        return render(
            request,
            "fragment_page.html",
            {
                **context,
                "fragment_template": "interactions/_log_form.html",
                "back_url": reverse("crm:customer-detail", args=[customer.pk]),
            },
            status=400,
        )
    response = render(
        request, "interactions/_log_form.html", context, status=400 if invalid else 200
    )
    if logged is not None:
        response["HX-Trigger"] = LOGGED_EVENT
    return response


def _timeline_context(request: HttpRequest, customer_id: int) -> dict:
    customer = crm_selectors.customer_get(customer_id=customer_id)
    channel = request.GET.get("channel") or None
    if channel not in Interaction.Channel.values:
        channel = None
    category = request.GET.get("category") or None
    matter_id = request.GET.get("matter") or None
    try:
        matter_id = int(matter_id) if matter_id else None
    except ValueError:
        matter_id = None
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.customer_timeline(
            customer_id=customer.pk,
            channel=channel,
            category=category,
            matter_id=matter_id,
            cursor=cursor,
        )
    except ValidationError:
        page = selectors.customer_timeline(customer_id=customer.pk, channel=channel)
        cursor = None
    filters = {"channel": channel or "", "category": category or "", "matter": matter_id or ""}
    matters = selectors.customer_matters(customer_id=customer.pk)
    return {
        "customer": customer,
        "page": page,
        "items": page.items,
        "filters": filters,
        "is_more": bool(cursor),
        "channels": Interaction.Channel.choices,
        "categories": selectors.categories_active(),
        "matters": matters,
    }


@login_required
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The timeline fragment; `cursor` answers only the next items (Load more)."""
    _require_staff(request)
    context = _timeline_context(request, customer_id)
    template = (
        "interactions/_timeline_items.html" if context["is_more"] else "interactions/_timeline.html"
    )
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def interaction_matter_change(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """GET: the control that moves the contact to another matter, loaded when a rep
    opens a timeline item's "More". POST: link to the chosen matter, or unlink
    ("new") into a matter of its own."""
    _require_staff(request)
    interaction = get_object_or_404(Interaction.objects.select_related("matter"), pk=interaction_id)
    can_edit = selectors.interaction_can_edit(user=request.user, interaction=interaction)
    if request.method == "GET":
        customer_matters = (
            selectors.customer_matters(customer_id=interaction.customer_id)
            if can_edit and interaction.customer_id
            else []
        )
        return render(
            request,
            "interactions/_matter_link.html",
            {
                "interaction": interaction,
                "can_edit": can_edit,
                "link_matters": [m for m in customer_matters if m.is_open][:LINKABLE_MATTERS],
            },
        )
    if not can_edit:
        raise PermissionDenied("You may change your own interactions (supervisors: their teams').")
    choice = request.POST.get("matter", "")
    with transaction.atomic():
        if choice == "new":
            matters.interaction_matter_unlink(interaction=interaction)
        else:
            try:
                matter = Matter.objects.get(pk=int(choice))
            except (ValueError, Matter.DoesNotExist):
                return HttpResponse("Choose a matter.", status=400, content_type="text/plain")
            try:
                matters.interaction_matter_link(interaction=interaction, matter=matter)
            except ValidationError as exc:
                return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain")
    response = render(
        request,
        "interactions/_timeline.html",
        _timeline_context(request, interaction.customer_id),
    )
    response["HX-Trigger"] = LOGGED_EVENT
    return response


@login_required
@require_POST
def interaction_feedback_request(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """Queue the feedback e-mail to the customer (after commit; the worker sends it)."""
    _require_staff(request)
    interaction = get_object_or_404(Interaction, pk=interaction_id)
    if interaction.feedback_requested_at is not None:
        return HttpResponse(
            '<span class="muted">Feedback already requested on '
            f"{interaction.feedback_requested_at:%Y-%m-%d}.</span>"
        )
    base_url = request.build_absolute_uri("/")
    transaction.on_commit(
        lambda: feedback_request_send.delay(interaction.pk, base_url), robust=True
    )
    return HttpResponse('<span class="muted">Feedback request queued.</span>')


@require_http_methods(["GET", "POST"])
def feedback_page(request: HttpRequest, token: str) -> HttpResponse:
    """Public (no login): the customer rates one contact once. Shows no internal notes."""
    try:
        link_id = feedback_token_read(token)
    except FeedbackLinkError as exc:
        return render(request, "interactions/feedback.html", {"link_error": exc.reason}, status=410)
    link = (
        FeedbackLink.objects.select_related(
            "interaction__rep", "interaction__feedback", "interaction__customer"
        )
        .filter(pk=link_id)
        .first()
    )
    if link is None:
        return render(request, "interactions/feedback.html", {"link_error": "invalid"}, status=404)
    interaction = link.interaction
    if feedback_link_is_expired(occurred_at=interaction.occurred_at):
        # The expiry counts from the contact, whenever the link was issued.
        return render(request, "interactions/feedback.html", {"link_error": "expired"}, status=410)
    try:
        given = interaction.feedback
    except Feedback.DoesNotExist:
        given = None
    form = FeedbackForm(data=request.POST if request.method == "POST" else None)
    status = 200
    if given is None and request.method == "POST":
        if form.is_valid():
            try:
                given = services.interaction_feedback_give(
                    interaction_id=interaction.pk,
                    link_id=link.pk,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
                status = 400
        else:
            status = 400
    context = {
        # Only what the customer may see: channel, date, subject, the rep's first name.
        "channel": interaction.get_channel_display(),
        "occurred_on": selectors.interaction_day_for_customer(interaction=interaction),
        "subject": interaction.subject,
        "rep_first_name": interaction.rep.first_name if interaction.rep else "",
        "form": form,
        "given": given,
    }
    return render(request, "interactions/feedback.html", context, status=status)
