"""Work order services on PostgreSQL: numbering, transitions, step log, escalation."""

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from crm.workorders import services
from crm.workorders.choices import WORK_ORDER_TRANSITIONS, WorkOrderStatus
from crm.workorders.models import Notification, WorkOrder

pytestmark = pytest.mark.django_db(transaction=False)


def test_every_status_has_its_transitions_written_down():
    assert set(WORK_ORDER_TRANSITIONS) == set(WorkOrderStatus.values)


def test_created_order_sits_on_the_start_node_with_a_deadline(make_order, flow, people):
    before = timezone.now()
    order = make_order(query_password="246810")
    day = timezone.localdate()
    assert order.number == f"WO{day:%Y%m%d}-0001"
    assert make_order().number == f"WO{day:%Y%m%d}-0002"
    assert order.current_node == flow.start and order.department == flow.intake
    assert order.status == WorkOrderStatus.OPEN
    assert (
        before + dt.timedelta(hours=2) <= order.deadline <= timezone.now() + dt.timedelta(hours=2)
    )
    assert order.issued_query_password == "246810"
    assert order.query_password != "246810"
    assert check_password("246810", order.query_password)
    step = order.steps.get()
    assert (step.from_node, step.to_node, step.actor) == (None, flow.start, people.clerk)


def test_generated_query_password_is_six_digits(make_order):
    order = make_order()
    assert len(order.issued_query_password) == 6 and order.issued_query_password.isdigit()


def test_agents_cannot_create_orders_directly(make_order, people):
    with pytest.raises(PermissionDenied):
        make_order(by=people.agent)


def test_advance_along_allowed_transitions_logs_every_step(
    make_order, flow, people, django_capture_on_commit_callbacks
):
    order = make_order()
    with django_capture_on_commit_callbacks(execute=True):
        services.advance_work_order(order, flow.to_work, people.clerk, "请核实缴存记录")
    order.refresh_from_db()
    assert order.current_node == flow.work and order.status == WorkOrderStatus.IN_PROGRESS
    assert order.department == flow.handling and order.assignee is None
    # The handling department's back-office members hear about it (the role filters "lead").
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["handler"]
    services.claim_work_order(order, by=people.handler)
    services.advance_work_order(order, flow.finish, people.handler, "已办结", internal=True)
    order.refresh_from_db()
    assert order.status == WorkOrderStatus.CLOSED and order.closed_at is not None
    assert order.deadline is None
    log = [
        (s.from_node_id, s.to_node_id, s.actor.username, s.comment, s.is_internal)
        for s in order.steps.select_related("actor")
    ]
    assert log[1:] == [
        (flow.start.pk, flow.work.pk, "clerk", "请核实缴存记录", False),
        (flow.work.pk, flow.done.pk, "handler", "已办结", True),
    ]


def test_transition_from_another_node_is_refused(make_order, flow, people):
    order = make_order()
    with pytest.raises(services.WorkOrderError) as error:
        services.advance_work_order(order, flow.finish, people.clerk)
    assert error.value.code == "transition_not_allowed"
    assert order.steps.count() == 1


def test_finished_orders_do_not_move(make_order, flow, people):
    order = make_order()
    services.cancel_work_order(order, by=people.supervisor, comment="重复工单")
    with pytest.raises(services.WorkOrderError) as error:
        services.advance_work_order(order, flow.to_work, people.supervisor)
    assert error.value.code == "order_finished"
    with pytest.raises(services.WorkOrderError) as error:
        services.cancel_work_order(order, by=people.supervisor, comment="再次")
    assert error.value.code == "status_not_allowed"


def test_only_handlers_may_advance(make_order, flow, people):
    order = make_order()
    for stranger in (people.outsider, people.agent, people.handler):
        with pytest.raises(PermissionDenied):
            services.advance_work_order(order, flow.to_work, stranger)
    services.advance_work_order(order, flow.to_work, people.supervisor)  # supervisors may
    services.advance_work_order(order, flow.back, people.handler)  # now a member
    services.advance_work_order(order, flow.to_work, people.admin)
    assert order.steps.count() == 4


def test_going_back_resets_the_deadline_and_alert(make_order, flow, people):
    order = make_order()
    WorkOrder.objects.filter(pk=order.pk).update(overdue_alert_sent_at=timezone.now())
    services.advance_work_order(order, flow.to_work, people.clerk)
    order.refresh_from_db()
    assert order.overdue_alert_sent_at is None
    assert order.deadline > timezone.now() + dt.timedelta(hours=23)


def test_claim_requires_the_stage_role(make_order, flow, people):
    order = make_order()
    services.advance_work_order(order, flow.to_work, people.clerk)
    with pytest.raises(services.WorkOrderError) as error:
        services.claim_work_order(order, by=people.lead)  # a supervisor, not back office
    assert error.value.code == "wrong_role"
    services.claim_work_order(order, by=people.handler)
    assert order.assignee == people.handler


def test_agent_escalates_own_record_and_both_are_linked(make_record, flow, people):
    record = make_record(people.agent)
    order = services.escalate_service_record(record, workflow=flow.workflow, by=people.agent)
    assert order.service_record == record and list(record.work_orders.all()) == [order]
    assert order.description == record.description and order.title == "提取咨询"
    assert WorkOrder.objects.visible_to(people.agent).get() == order
    assert not WorkOrder.objects.visible_to(people.other_agent).exists()
    with pytest.raises(services.WorkOrderError) as error:
        services.escalate_service_record(record, workflow=flow.workflow, by=people.supervisor)
    assert error.value.code == "already_escalated"


def test_agent_cannot_escalate_someone_elses_record(make_record, flow, people):
    record = make_record(people.other_agent)
    with pytest.raises(PermissionDenied):
        services.escalate_service_record(record, workflow=flow.workflow, by=people.agent)


def test_backoffice_sees_its_departments_orders(make_order, flow, people):
    order = make_order()
    assert list(WorkOrder.objects.visible_to(people.clerk)) == [order]
    assert not WorkOrder.objects.visible_to(people.handler).exists()
    assert not WorkOrder.objects.visible_to(people.outsider).exists()
    services.advance_work_order(order, flow.to_work, people.clerk)
    assert list(WorkOrder.objects.visible_to(people.handler)) == [order]
    assert list(WorkOrder.objects.visible_to(people.supervisor)) == [order]
