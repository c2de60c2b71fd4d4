"""Customer pages and their htmx fragments. Thin: parse, call a service or selector, render.

Every form works without JavaScript (a normal POST that redirects back to the
page); with htmx the same URL answers with just the fragment to swap.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_POST

from core import audit
from crm import access, search, selectors, services
from crm.models import (
    FACT_TEXT_MAX_LENGTH,
    ConsentRecord,
    ContactPoint,
    Customer,
    ProfileFact,
)

CUSTOMERS_PER_PAGE = 50


def _require_staff(request: HttpRequest) -> None:
    access.require_staff_member(request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's errors on the form field they name (or on top)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        name = field.split(".")[-1] if field.split(".")[-1] in form.fields else None
        form.add_error(name if name in form.fields else None, messages)


@login_required
def home(request):
    return redirect("crm:customer-list")


@login_required
def customer_list_page(request):
    _require_staff(request)
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.customer_list(query=query), CUSTOMERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "crm/customer_list.html",
        {"page": page, "query": query, "search_limit": search.NAME_SEARCH_LIMIT},
    )


# --- the customer page ------------------------------------------------------------------


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=200)
    preferred_name = forms.CharField(max_length=100, required=False)
    pronunciation = forms.CharField(max_length=200, required=False)
    pronouns = forms.CharField(max_length=40, required=False)
    time_zone = forms.CharField(max_length=64, help_text="IANA, e.g. Europe/Berlin")
    preferred_language = forms.CharField(max_length=35, required=False, help_text="e.g. de-DE")
    preferred_channel = forms.ChoiceField(
        choices=[("", "—"), *Customer.Channel.choices], required=False
    )
    quiet_hours_start = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_hours_end = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    accessibility_needs = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    organisation = forms.CharField(max_length=200, required=False)
    organisation_role = forms.CharField(max_length=120, required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated")

    @classmethod
    def for_customer(cls, customer: Customer) -> "ProfileForm":
        initial = {name: getattr(customer, name) for name in cls.base_fields if name != "tags"}
        initial["tags"] = ", ".join(tag.name for tag in customer.tags.all())
        return cls(initial=initial)


class FactForm(forms.Form):
    category = forms.ChoiceField(choices=ProfileFact.Category.choices)
    text = forms.CharField(
        max_length=FACT_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_pinned = forms.BooleanField(required=False, label="Pin")


class ContactPointForm(forms.Form):
    kind = forms.ChoiceField(choices=ContactPoint.Kind.choices)
    value = forms.CharField(max_length=320)
    label = forms.ChoiceField(choices=ContactPoint.Label.choices)
    is_primary = forms.BooleanField(required=False, label="Primary")


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=ConsentRecord.Channel.choices)
    status = forms.ChoiceField(choices=ConsentRecord.Status.choices)
    method = forms.ChoiceField(choices=ConsentRecord.Method.choices)
    note = forms.CharField(max_length=500, required=False)


def customer_panels(customer: Customer) -> list[dict]:
    """The slots other apps fill (settings.CUSTOMER_PAGE_PANELS); an app that is
    not installed simply has no panel."""
    panels = []
    for panel in getattr(settings, "CUSTOMER_PAGE_PANELS", []):
        try:
            url = reverse(panel["url_name"], args=[customer.pk])
        except NoReverseMatch:
            continue
        panels.append(
            {"title": panel["title"], "url": url, "slug": panel["url_name"].replace(":", "-")}
        )
    return panels


def _profile_context(request: HttpRequest, customer: Customer) -> dict:
    now = timezone.now()
    facts = customer.live_facts
    # Formatted here: the template's date filter would turn it back into UTC.
    local_time = selectors.customer_local_time(customer, now=now)
    return {
        "customer": customer,
        "local_time": local_time.strftime("%a %H:%M"),
        "local_clock": local_time.strftime("%H:%M"),
        "is_quiet_now": selectors.customer_is_in_quiet_hours(customer, now=now),
        "consents": selectors.customer_consents(customer),
        "facts": facts,
        "pinned_facts": [fact for fact in facts if fact.is_pinned],
        "fact_form": FactForm(initial={"category": ProfileFact.Category.OTHER}),
        "contact_form": ContactPointForm(initial={"kind": "phone", "label": "mobile"}),
        "consent_form": ConsentForm(),
        "can_merge": access.can_merge_customers(request.user),
        "fact_max_length": FACT_TEXT_MAX_LENGTH,
    }


def _load(request: HttpRequest, customer_id: int) -> Customer:
    _require_staff(request)
    return selectors.customer_profile(customer_id=customer_id)


@login_required
@require_GET
def customer_detail_page(request, customer_id: int):
    customer = _load(request, customer_id)
    if customer.pk != customer_id:  # a merged id: show the survivor at its own address
        return redirect("crm:customer-detail", customer.pk)
    audit.audit_customer_viewed(actor=request.user, customer_id=customer.pk, request=request)
    context = _profile_context(request, customer)
    context["panels"] = customer_panels(customer)
    context["duplicates"] = selectors.customer_duplicates(customer=customer, limit=5)
    return render(request, "crm/customer_detail.html", context)


def _fragment_or_page(request, customer: Customer, template: str, extra: dict | None = None):
    if not _is_htmx(request):
        return redirect("crm:customer-detail", customer.pk)
    customer = selectors.customer_profile(customer_id=customer.pk)
    context = _profile_context(request, customer)
    context["is_fragment"] = True
    context.update(extra or {})
    return render(request, template, context)


@login_required
def customer_profile_card(request, customer_id: int):
    """GET: the card (after Cancel). POST: save the in-place edit."""
    customer = _load(request, customer_id)
    if request.method != "POST":
        return _fragment_or_page(request, customer, "crm/_profile_card.html")
    form = ProfileForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        tags = [tag for tag in data.pop("tags").split(",") if tag.strip()]
        try:
            services.customer_update(customer=customer, changes=data, tags=tags, actor=request.user)
        except ValidationError as exc:
            _apply_errors(form, exc)
    if form.errors:
        return render(
            request,
            "crm/_profile_form.html",
            {"customer": customer, "form": form},
            status=200 if _is_htmx(request) else 400,
        )
    return _fragment_or_page(request, customer, "crm/_profile_card.html")


@login_required
@require_GET
def customer_profile_edit(request, customer_id: int):
    customer = _load(request, customer_id)
    return render(
        request,
        "crm/_profile_form.html",
        {"customer": customer, "form": ProfileForm.for_customer(customer)},
    )


@login_required
@require_POST
def customer_consent_record(request, customer_id: int):
    customer = _load(request, customer_id)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_record(customer=customer, actor=request.user, **form.cleaned_data)
    return _fragment_or_page(request, customer, "crm/_profile_card.html")


@login_required
@require_POST
def customer_fact_add(request, customer_id: int):
    customer = _load(request, customer_id)
    form = FactForm(request.POST)
    if form.is_valid():
        try:
            services.fact_add(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
    if form.errors:
        return _fragment_or_page(request, customer, "crm/_facts.html", {"fact_form": form})
    return _fragment_or_page(request, customer, "crm/_facts.html")


def _fact(customer: Customer, fact_id: int) -> ProfileFact:
    return get_object_or_404(ProfileFact, pk=fact_id, customer=customer, deleted_at__isnull=True)


@login_required
def customer_fact_edit(request, customer_id: int, fact_id: int):
    """GET: the edit form for one fact. POST: save it (history is kept)."""
    customer = _load(request, customer_id)
    fact = _fact(customer, fact_id)
    if request.method == "POST":
        form = FactForm(request.POST)
        if form.is_valid():
            try:
                services.fact_update(fact=fact, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
        if not form.errors:
            return _fragment_or_page(request, customer, "crm/_facts.html")
    else:
        form = FactForm(
            initial={"category": fact.category, "text": fact.text, "is_pinned": fact.is_pinned}
        )
    return render(
        request, "crm/_fact_form.html", {"customer": customer, "fact": fact, "form": form}
    )


@login_required
@require_POST
def customer_fact_delete(request, customer_id: int, fact_id: int):
    customer = _load(request, customer_id)
    services.fact_delete(fact=_fact(customer, fact_id), actor=request.user)
    return _fragment_or_page(request, customer, "crm/_facts.html")


@login_required
@require_POST
def customer_fact_pin(request, customer_id: int, fact_id: int):
    customer = _load(request, customer_id)
    fact = _fact(customer, fact_id)
    services.fact_update(fact=fact, actor=request.user, is_pinned=not fact.is_pinned)
    return _fragment_or_page(request, customer, "crm/_facts.html")


@login_required
@require_POST
def customer_contact_point_add(request, customer_id: int):
    customer = _load(request, customer_id)
    form = ContactPointForm(request.POST)
    if form.is_valid():
        try:
            services.contact_point_add(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
    return _fragment_or_page(
        request, customer, "crm/_contact_points.html", {"contact_form": form} if form.errors else {}
    )


@login_required
@require_POST
def customer_merge_page(request, customer_id: int):
    """Fold the duplicate named in the form into this customer (supervisors, admins)."""
    customer = _load(request, customer_id)
    if not access.can_merge_customers(request.user):
        raise PermissionDenied("Only supervisors and admins may merge customers.")
    try:
        source_id = int(request.POST.get("source", ""))
    except ValueError:
        source_id = 0
    source = get_object_or_404(Customer, pk=source_id)
    try:
        services.customer_merge(source=source, target=customer, actor=request.user)
    except ValidationError as exc:
        return HttpResponse(escape(" ".join(exc.messages)), status=400, content_type="text/plain")
    response = HttpResponse(status=204)
    if _is_htmx(request):
        response["HX-Redirect"] = reverse("crm:customer-detail", args=[customer.pk])
        return response
    return redirect("crm:customer-detail", customer.pk)


def _contact_point(customer: Customer, contact_point_id: int) -> ContactPoint:
    return get_object_or_404(ContactPoint, pk=contact_point_id, customer=customer)


@login_required
@require_POST
def customer_contact_point_make_primary(request, customer_id: int, contact_point_id: int):
    customer = _load(request, customer_id)
    services.contact_point_make_primary(
        contact_point=_contact_point(customer, contact_point_id), actor=request.user
    )
    return _fragment_or_page(request, customer, "crm/_contact_points.html")


@login_required
@require_POST
def customer_contact_point_remove(request, customer_id: int, contact_point_id: int):
    customer = _load(request, customer_id)
    services.contact_point_remove(
        contact_point=_contact_point(customer, contact_point_id), actor=request.user
    )
    return _fragment_or_page(request, customer, "crm/_contact_points.html")


@login_required
@require_GET
def customer_duplicates_page(request):
    """Phones and e-mails on several customers: the merge queue. Reps see it
    (to tell a supervisor); supervisors open a customer and merge there."""
    _require_staff(request)
    return render(
        request,
        "crm/customer_duplicates.html",
        {
            "groups": selectors.duplicate_groups(limit=100),
            "can_merge": access.can_merge_customers(request.user),
        },
    )
