"""Work order pages: back-office queue, order page, notifications, public self-query."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.redis import get_redis
from crm.workorders import services
from crm.workorders.filtersets import WorkOrderFilterSet
from crm.workorders.forms import AdvanceForm, SelfQueryForm
from crm.workorders.models import Notification, WorkOrder
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
    return render(request, "workorders/queue.html", {"filterset": filterset, "orders": orders})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(_orders(request), pk=pk)
    can_handle = request.user.has_perm("workorders.change_workorder", order)
    context = {
        "order": order,
        "steps": order.steps.select_related("from_node", "to_node", "actor"),
        "attachments": order.attachments.all(),
        "transitions": order.current_node.outgoing.select_related("to_node")
        if can_handle and order.status in ("open", "in_progress")
        else [],
        "form": AdvanceForm(),
    }
    return render(request, "workorders/detail.html", context)


@login_required
@require_POST
def advance(request: HttpRequest, pk: int, transition_id: int) -> HttpResponse:
    order = get_object_or_404(_orders(request), pk=pk)
    transition = get_object_or_404(order.current_node.outgoing.all(), pk=transition_id)
    form = AdvanceForm(request.POST)
    form.is_valid()
    try:
        services.advance_work_order(
            order,
            transition,
            request.user,
            form.cleaned_data.get("comment", ""),
            internal=form.cleaned_data.get("internal", False),
        )
    except services.WorkOrderError as error:
        messages.error(request, error.message)
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
