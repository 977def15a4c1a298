"""Work order pages: back-office queue, new order, order page and its actions, notifications,
public self-query."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.redis import get_redis
from crm.workorders import services
from crm.workorders.choices import ACTIVE_STATUSES
from crm.workorders.filtersets import WorkOrderFilterSet
from crm.workorders.forms import (
    AdvanceForm,
    AttachmentForm,
    CancelForm,
    SelfQueryForm,
    WorkOrderCreateForm,
)
from crm.workorders.issued import pop_issued_password, remember_issued_password
from crm.workorders.models import Notification, WorkflowTransition, WorkOrder
from crm.workorders.selfquery import (
    SelfQueryBlocked,
    SelfQueryThrottle,
    client_identity,
    query_for_client,
)

PAGE_SIZE = 100


def _orders(request: HttpRequest):
    return WorkOrder.objects.visible_to(request.user).select_related(
        "current_node", "department", "assignee"
    )


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The orders the user may see, filtered by status, department and overdue."""
    if not request.user.has_perm("workorders.view_workorder"):
        raise PermissionDenied
    filterset = WorkOrderFilterSet(request.GET, queryset=_orders(request))
    orders = filterset.qs.order_by("deadline", "-created_at")[:PAGE_SIZE]
    context = {
        "filterset": filterset,
        "orders": orders,
        "can_create": request.user.has_perm("workorders.add_workorder"),
    }
    return render(request, "workorders/queue.html", context)


WORK_ORDER_ERROR_FIELDS = {
    "title_required": "title",
    "workflow_inactive": "workflow",
    "workflow_without_start": "workflow",
}


@login_required
def create(request: HttpRequest) -> HttpResponse:
    """New work order typed by back-office staff, supervisors or admins.

    The "search customers" button re-renders the form with the customers matching the search
    (nothing is saved). On success the browser goes to the order page, which shows the
    number and the customer's query password once.
    """
    if not request.user.has_perm("workorders.add_workorder"):
        raise PermissionDenied
    if request.method != "POST":
        initial = {"customer": request.GET.get("customer", "")}
        return _render_create(request, WorkOrderCreateForm(initial=initial))
    if "search_customers" in request.POST:
        # Unbound with the typed values as initial data: a search is not a submission, so
        # required fields left empty so far must not be reported as errors yet.
        typed = {name: request.POST.get(name, "") for name in WorkOrderCreateForm.base_fields}
        return _render_create(request, WorkOrderCreateForm(initial=typed))
    form = WorkOrderCreateForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_create(request, form)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            order = services.create_work_order(
                title=data["title"],
                workflow=data["workflow"],
                by=request.user,
                description=data["description"],
                customer=data["customer"],
                priority=data["priority"],
                query_password=data["query_password"] or None,
            )
            for upload in data["attachments"]:
                services.add_work_order_attachment(order, file=upload, by=request.user)
    except services.WorkOrderError as error:
        form.add_error(WORK_ORDER_ERROR_FIELDS.get(error.code), error.message)
        return _render_create(request, form)
    except ValidationError as error:
        form.add_error("attachments", error)
        return _render_create(request, form)
    remember_issued_password(request, order)
    return redirect("workorders:detail", pk=order.pk)


def _render_create(request: HttpRequest, form: WorkOrderCreateForm) -> HttpResponse:
    return render(request, "workorders/create.html", {"form": form})


def _detail_response(
    request: HttpRequest,
    order: WorkOrder,
    *,
    advance_form: AdvanceForm | None = None,
    cancel_form: CancelForm | None = None,
    attachment_form: AttachmentForm | None = None,
) -> HttpResponse:
    """The order page; a form passed in is shown bound, with its errors."""
    user = request.user
    active = order.status in ACTIVE_STATUSES
    can_handle = user.has_perm("workorders.change_workorder", order)
    role = order.current_node.assignee_role
    context = {
        "order": order,
        "issued": pop_issued_password(request, order),
        "steps": order.steps.select_related("from_node", "to_node", "actor"),
        "attachments": order.attachments.all(),
        "transitions": order.current_node.outgoing.select_related("to_node")
        if can_handle and active
        else [],
        "can_claim": can_handle
        and active
        and order.assignee_id is None
        and (not role or user.has_role(role)),
        "can_cancel": active and user.has_perm("workorders.cancel_workorder", order),
        "can_attach": user.has_perm("workorders.view_workorder", order),
        "form": advance_form or AdvanceForm(),
        "cancel_form": cancel_form or CancelForm(),
        "attachment_form": attachment_form or AttachmentForm(),
    }
    return render(request, "workorders/detail.html", context)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    orders = _orders(request).select_related("customer", "service_record")
    return _detail_response(request, get_object_or_404(orders, pk=pk))


def _run_action(request: HttpRequest, order: WorkOrder, function, *args, **kwargs) -> None:
    """Call a service; its refusal becomes an error message on the order page."""
    try:
        function(order, *args, **kwargs)
    except services.WorkOrderError as error:
        messages.error(request, error.message)
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You are not allowed to do this."))


@login_required
@require_POST
def advance(request: HttpRequest, pk: int, transition_id: int) -> HttpResponse:
    order = get_object_or_404(_orders(request), pk=pk)
    # Any transition of the order's workflow: when the order has moved on since the page was
    # loaded, the service explains that the step is no longer possible instead of a 404.
    transition = get_object_or_404(
        WorkflowTransition.objects.filter(from_node__workflow=order.workflow_id), pk=transition_id
    )
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        return _detail_response(request, order, advance_form=form)
    _run_action(
        request,
        order,
        services.advance_work_order,
        transition,
        request.user,
        form.cleaned_data["comment"],
        internal=form.cleaned_data["internal"],
    )
    return redirect("workorders:detail", pk=order.pk)


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(_orders(request), pk=pk)
    _run_action(request, order, services.claim_work_order, by=request.user)
    return redirect("workorders:detail", pk=order.pk)


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(_orders(request), pk=pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail_response(request, order, cancel_form=form)
    _run_action(request, order, services.cancel_work_order, by=request.user, **form.cleaned_data)
    return redirect("workorders:detail", pk=order.pk)


@login_required
@require_POST
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(_orders(request), pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_response(request, order, attachment_form=form)
    try:
        services.add_work_order_attachment(order, file=form.cleaned_data["file"], by=request.user)
    except ValidationError as error:
        form.add_error("file", error)
        return _detail_response(request, order, attachment_form=form)
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You are not allowed to do this."))
    return redirect("workorders:detail", pk=order.pk)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications; opening the page marks them read."""
    items = list(
        Notification.objects.filter(recipient=request.user).select_related("work_order")[:100]
    )
    unread = [item.pk for item in items if not item.read]
    Notification.objects.filter(pk__in=unread).update(read=True)
    return render(
        request, "workorders/notifications.html", {"notifications": items, "unread": set(unread)}
    )


def self_query(request: HttpRequest) -> HttpResponse:
    """Public page: a customer follows an order with its number and query password."""
    form = SelfQueryForm(request.POST or None)
    context: dict = {"form": form, "result": None, "failed": False, "blocked": False}
    response_status = 200
    if request.method == "POST" and form.is_valid():
        try:
            context["result"] = query_for_client(
                SelfQueryThrottle(get_redis()),
                client_identity(request),
                form.cleaned_data["number"],
                form.cleaned_data["password"],
            )
        except SelfQueryBlocked:
            context["blocked"] = True
            response_status = 429
        else:
            context["failed"] = context["result"] is None
    return render(request, "workorders/self_query.html", context, status=response_status)
