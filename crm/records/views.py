"""Service record pages: the list, an agent's unfinished records, one record."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from crm.customers.errors import BusinessRuleError
from crm.records import services
from crm.records.api.views import visible_records
from crm.records.filtersets import ServiceRecordFilterSet
from crm.records.forms import FollowUpForm

PAGE_SIZE = 50


@login_required
def record_list(request: HttpRequest) -> HttpResponse:
    """Records the user may see (agents: their own), filtered."""
    filterset = ServiceRecordFilterSet(request.GET or None, queryset=visible_records(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "records/list.html", {"filterset": filterset, "page": page})


@login_required
def unfinished(request: HttpRequest) -> HttpResponse:
    """The signed-in agent's records that are not closed."""
    agent = getattr(request.user, "agent", None)
    records = services.unfinished_service_records(agent) if agent is not None else []
    return render(request, "records/unfinished.html", {"records": records, "agent": agent})


@login_required
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One record with its follow-ups; the form adds a follow-up or closes the record."""
    record = get_object_or_404(visible_records(request.user), pk=pk)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if "close" in request.POST:
                services.close_service_record(
                    record, by_user=request.user, note=form.cleaned_data["note"]
                )
            else:
                services.add_follow_up(record, by_user=request.user, **form.cleaned_data)
        except BusinessRuleError as error:
            messages.error(request, error.message)
        else:
            return redirect("records:detail", pk=record.pk)
    return render(request, "records/detail.html", {"record": record, "form": form})
