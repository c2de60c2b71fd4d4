from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from crm import selectors

CUSTOMERS_PER_PAGE = 50


@login_required
def home(request):
    return redirect("crm:customer-list")


@login_required
def customer_list_page(request):
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.customer_list(query=query), CUSTOMERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "crm/customer_list.html", {"page": page, "query": query})
