"""Overdue alerts: the beat entry exists; the task alerts once per node visit, and only once."""

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from crm.workorders import services
from crm.workorders.models import Notification, WorkOrder
from crm.workorders.tasks import OVERDUE_TASK_NAME, send_overdue_alerts_task

pytestmark = pytest.mark.django_db


def test_beat_runs_the_overdue_check_every_minute():
    from config.celery import app

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == OVERDUE_TASK_NAME]
    assert len(entries) == 1 and entries[0]["schedule"] == 60.0
    assert OVERDUE_TASK_NAME in app.tasks


def _run_task_at(moment: dt.datetime) -> int:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return send_overdue_alerts_task.apply().get()


def test_task_alerts_assignee_and_department_supervisors_once(make_order, flow, people):
    order = make_order()
    services.advance_work_order(order, flow.to_work, people.clerk)
    services.claim_work_order(order, by=people.handler)
    order.refresh_from_db()
    Notification.objects.all().delete()

    assert _run_task_at(order.deadline - dt.timedelta(minutes=1)) == 0
    assert not Notification.objects.exists()

    late = order.deadline + dt.timedelta(minutes=1)
    assert _run_task_at(late) == 1
    recipients = sorted(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == ["handler", "lead"]  # the assignee and the department's supervisor
    text = Notification.objects.first().text
    assert order.number in text and "处理" in text
    assert Notification.objects.first().link == f"/crm/workorders/{order.pk}/"

    assert _run_task_at(late + dt.timedelta(minutes=1)) == 0
    assert _run_task_at(late + dt.timedelta(hours=5)) == 0
    assert Notification.objects.count() == 2
    assert WorkOrder.objects.get(pk=order.pk).overdue_alert_sent_at == late


def test_a_new_node_visit_can_be_alerted_again(make_order, flow, people):
    order = make_order()
    order.refresh_from_db()
    first_deadline = order.deadline
    assert services.send_overdue_alerts(first_deadline + dt.timedelta(seconds=1)) == 1
    services.advance_work_order(order, flow.to_work, people.clerk)
    order.refresh_from_db()
    assert services.send_overdue_alerts(first_deadline + dt.timedelta(seconds=2)) == 0
    assert services.send_overdue_alerts(order.deadline + dt.timedelta(seconds=1)) == 1


def test_closed_and_limitless_orders_are_never_overdue(make_order, flow, people):
    order = make_order()
    services.advance_work_order(order, flow.to_work, people.clerk)
    services.advance_work_order(order, flow.finish, people.handler)
    assert services.send_overdue_alerts(timezone.now() + dt.timedelta(days=30)) == 0
