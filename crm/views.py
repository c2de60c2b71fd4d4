"""Customer pages and their htmx fragments. Thin: parse, call a service or selector, render.

Every form works without JavaScript (a normal POST that redirects back to the
page); with htmx the same URL answers with just the fragment to swap.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_POST

from core import audit, pagination
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
    """Where a day starts: supervisors (and admins) on the board, reps on My day."""
    if access.is_supervisor(request.user) or access.is_admin(request.user):
        return redirect("board:board")
    if access.is_staff_member(request.user):
        return redirect("followups:my-day")
    return redirect("crm:customer-list")


@login_required
def customer_list_page(request):
    _require_staff(request)
    query = request.GET.get("q", "").strip()
    # Counts at most COUNT_CAP customers, as the API does: the unfiltered list
    # would otherwise count every customer on every page view.
    paginator = pagination.CappedCountPaginator(
        selectors.customer_list(query=query), CUSTOMERS_PER_PAGE
    )
    page = paginator.get_page(request.GET.get("page"))
    if query and paginator.count == 1 and not request.GET.get("list"):
        # One match (by name, phone in any format or e-mail): open the customer at once,
        # reading its row alone (the prefetches are for the rows a list shows).
        (match,) = page.object_list.prefetch_related(None)
        return redirect("crm:customer-detail", match.pk)
    return render(
        request,
        "crm/customer_list.html",
        {
            "page": page,
            "query": query,
            "search_limit": search.NAME_SEARCH_LIMIT,
            "count_cap": f"{pagination.COUNT_CAP:,}",
            "is_count_capped": paginator.is_capped,
            "is_count_exact": not paginator.is_capped and not paginator.is_estimated,
        },
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


class IdPrefixed(forms.Form):
    """A form whose element ids start with `id_prefix` (posted names unchanged), so
    several forms on the customer page never share an id and each label finds its control."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class FactForm(IdPrefixed):
    id_prefix = "fact"

    category = forms.ChoiceField(choices=ProfileFact.Category.choices)
    text = forms.CharField(
        max_length=FACT_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_pinned = forms.BooleanField(required=False, label="Pin")


class ContactPointForm(IdPrefixed):
    id_prefix = "contact"

    kind = forms.ChoiceField(choices=ContactPoint.Kind.choices)
    value = forms.CharField(max_length=320)
    label = forms.ChoiceField(choices=ContactPoint.Label.choices)
    is_primary = forms.BooleanField(required=False, label="Primary")


class ConsentForm(IdPrefixed):
    id_prefix = "consent"

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
        "local_time": local_time.strftime("%a %H:%M %Z"),
        "local_clock": local_time.strftime("%H:%M"),
        "is_quiet_now": selectors.customer_is_in_quiet_hours(customer, now=now),
        "consents": selectors.customer_consents(customer),
        "facts": facts,
        "pinned_facts": [fact for fact in facts if fact.is_pinned],
        # Own id prefixes (IdPrefixed): the log form on this page has "channel" and "category" too.
        "fact_form": FactForm(initial={"category": ProfileFact.Category.OTHER}),
        "contact_form": ContactPointForm(
            initial={"kind": "phone", "label": "mobile"},
        ),
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
    context["duplicates"] = selectors.customer_duplicates(
        customer=customer, limit=5, with_profiles=False
    )
    return render(request, "crm/customer_detail.html", context)


def _fragment_or_page(
    request, customer: Customer, template: str, extra: dict | None = None, *, invalid=False
):
    """htmx: the fragment (400 when it shows a form's errors, which rapport.js swaps in).
    Without htmx: back to the page on success; the form with its errors (values kept)
    as a whole page on failure, never a redirect that would drop them."""
    if not _is_htmx(request) and not invalid:
        return redirect("crm:customer-detail", customer.pk)
    customer = selectors.customer_profile(customer_id=customer.pk)
    context = _profile_context(request, customer)
    context["is_fragment"] = True
    context.update(extra or {})
    status = 400 if invalid else 200
    if not _is_htmx(request):
        return render_page_with_fragment(
            request, template, context, back_url=reverse("crm:customer-detail", args=[customer.pk])
        )
    return render(request, template, context, status=status)


def render_page_with_fragment(
    request, template: str, context: dict, *, back_url: str = "", wrap_table=False, status=400
) -> HttpResponse:
    """A form fragment with its errors, as a whole page (a POST made without htmx)."""
    context = {
        **context,
        "fragment_template": template,
        "back_url": back_url,
        "wrap_table": wrap_table,
    }
    return render(request, "fragment_page.html", context, status=status)


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
        context = {"customer": customer, "form": form}
        if not _is_htmx(request):
            return render_page_with_fragment(
                request,
                "crm/_profile_form.html",
                context,
                back_url=reverse("crm:customer-detail", args=[customer.pk]),
            )
        return render(request, "crm/_profile_form.html", context, status=400)
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
        try:
            services.consent_record(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
    if form.errors:
        return _fragment_or_page(
            request, customer, "crm/_profile_card.html", {"consent_form": form}, invalid=True
        )
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
        return _fragment_or_page(
            request, customer, "crm/_facts.html", {"fact_form": form}, invalid=True
        )
    return _fragment_or_page(request, customer, "crm/_facts.html")


def _fact(customer: Customer, fact_id: int) -> ProfileFact:
    return get_object_or_404(ProfileFact, pk=fact_id, customer=customer, deleted_at__isnull=True)


@login_required
def customer_fact_edit(request, customer_id: int, fact_id: int):
    """GET: the edit form for one fact. POST: save it (history is kept)."""
    customer = _load(request, customer_id)
    fact = _fact(customer, fact_id)
    if request.method == "POST":
        form = FactForm(request.POST, auto_id=f"id_fact{fact.pk}_%s")
        if form.is_valid():
            try:
                services.fact_update(fact=fact, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
        if not form.errors:
            return _fragment_or_page(request, customer, "crm/_facts.html")
    else:
        form = FactForm(
            initial={"category": fact.category, "text": fact.text, "is_pinned": fact.is_pinned},
            auto_id=f"id_fact{fact.pk}_%s",
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
    if form.errors:
        return _fragment_or_page(
            request, customer, "crm/_contact_points.html", {"contact_form": form}, invalid=True
        )
    return _fragment_or_page(request, customer, "crm/_contact_points.html")


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


# --- the staff member's own settings --------------------------------------------------


def _time_zone_choices() -> list[tuple[str, str]]:
    import zoneinfo

    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and "Etc/" not in z)
    return [("", "My team's time zone"), ("UTC", "UTC"), *[(z, z.replace("_", " ")) for z in zones]]


class MySettingsForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="My time zone",
        required=False,
        help_text="Every time on every page is shown in this zone.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()


@login_required
def my_settings_page(request):
    """The signed-in user's own settings: their time zone (blank: their team's)."""
    from crm.models import StaffProfile

    current = (
        StaffProfile.objects.filter(user_id=request.user.pk)
        .values_list("time_zone", flat=True)
        .first()
        or ""
    )
    saved = False
    if request.method == "POST":
        form = MySettingsForm(request.POST)
        if form.is_valid():
            try:
                services.staff_time_zone_set(
                    user=request.user, time_zone=form.cleaned_data["time_zone"]
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                return redirect(reverse("crm:my-settings") + "?saved=1")
        status = 400
    else:
        form = MySettingsForm(initial={"time_zone": current})
        saved = request.GET.get("saved") == "1"
        status = 200
    return render(
        request,
        "crm/my_settings.html",
        {"form": form, "saved": saved, "effective_zone": selectors.user_time_zone(request.user)},
        status=status,
    )
