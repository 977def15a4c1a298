"""Service record pages: the list, an agent's unfinished records, one record and its
escalation to a work order."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.customers.errors import BusinessRuleError
from crm.records import services
from crm.records.api.views import visible_records
from crm.records.filtersets import ServiceRecordFilterSet
from crm.records.forms import FollowUpForm
from crm.records.models import ServiceRecord
from crm.workorders import services as workorder_services
from crm.workorders.forms import EscalateForm
from crm.workorders.issued import pop_issued_password, remember_issued_password
from crm.workorders.models import Workflow, WorkOrder

ESCALATION_ERROR_FIELDS = {
    "title_required": "title",
    "workflow_inactive": "workflow",
    "workflow_without_start": "workflow",
}

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
    return _render_detail(request, record, form=form)


def _render_detail(
    request: HttpRequest,
    record: ServiceRecord,
    *,
    form: FollowUpForm | None = None,
    escalate_form: EscalateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The record page: follow-ups, and its work order or the form to escalate it."""
    user = request.user
    orders = list(WorkOrder.objects.filter(service_record=record).order_by("pk"))
    # Back-office staff see every record but not every order: link only the visible ones.
    visible = set(
        WorkOrder.objects.visible_to(user)
        .filter(service_record=record)
        .values_list("pk", flat=True)
    )
    issued = next(filter(None, (pop_issued_password(request, order) for order in orders)), None)
    can_escalate = not orders and user.has_perm("workorders.escalate_servicerecord", record)
    context = {
        "record": record,
        "form": form or FollowUpForm(),
        "work_orders": [(order, order.pk in visible) for order in orders],
        "issued": issued,
        "can_escalate": can_escalate,
        "escalate_form": escalate_form or EscalateForm.for_record(record),
        "has_workflows": Workflow.objects.filter(active=True).exists(),
    }
    return render(request, "records/detail.html", context, status=status)


@login_required
@require_POST
def escalate(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a work order from the record; the service decides who may and whether it is new.

    On success the record page shows the order's number and query password once.
    """
    record = get_object_or_404(visible_records(request.user), pk=pk)
    form = EscalateForm(request.POST, prefix="escalate")
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = workorder_services.escalate_service_record(
                record,
                workflow=data["workflow"],
                by=request.user,
                title=data["title"],
                description=data["description"],
                priority=data["priority"],
                query_password=data["query_password"] or None,
            )
        except workorder_services.WorkOrderError as error:
            form.add_error(ESCALATION_ERROR_FIELDS.get(error.code), error.message)
            status = 409 if error.code == "already_escalated" else 200
        except PermissionDenied as error:
            form.add_error(None, str(error))
            status = 403
        else:
            remember_issued_password(request, order)
            return redirect("records:detail", pk=record.pk)
    return _render_detail(request, record, escalate_form=form, status=status)
