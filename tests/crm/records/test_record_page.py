"""The service record page: follow-ups and closing still work beside the escalation form;
agents with seats escalate the records of their seat only."""

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from crm.records.services import create_service_record
from crm.workorders.models import Workflow, WorkflowNode, WorkOrder
from telephony.models import Agent
from tests.crm.records.factories import category_leaf

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def seats(make_user):
    ann = make_user("ann", "agent")
    Agent.objects.create(employee_number="1001", extension="8001", name="安", user=ann)
    bob = make_user("bob", "agent")
    Agent.objects.create(employee_number="1002", extension="8002", name="博", user=bob)
    return ann, bob


@pytest.fixture
def workflow(db):
    workflow = Workflow.objects.create(name="投诉处理")
    WorkflowNode.objects.create(workflow=workflow, name="受理", is_start=True)
    return workflow


def test_follow_up_and_close_through_the_page(seats):
    ann, _bob = seats
    record = create_service_record(by_user=ann, category=category_leaf(), description="查询账单")
    client = client_for(ann)
    url = reverse("records:detail", args=[record.pk])
    response = client.post(url, {"note": "已回电"})
    assert response.status_code == 302
    assert list(record.follow_ups.values_list("note", flat=True)) == ["已回电"]
    response = client.post(url, {"note": ""})
    assert response.status_code == 200 and "note" in response.context["form"].errors
    client.post(url, {"note": "已解决", "close": "1"})
    record.refresh_from_db()
    assert record.closed_at is not None


def test_seat_agents_escalate_only_their_seats_records(seats, workflow):
    ann, bob = seats
    record = create_service_record(by_user=ann, category=category_leaf(), description="投诉")
    assert record.agent.user == ann
    data = {"escalate-title": "投诉", "escalate-workflow": workflow.pk, "escalate-priority": "high"}
    url = reverse("records:escalate", args=[record.pk])
    assert client_for(bob).post(url, data).status_code == 404
    assert not WorkOrder.objects.exists()
    response = client_for(ann).post(url, data)
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.service_record == record and order.created_by == ann


def test_record_page_languages(seats, workflow):
    ann, _bob = seats
    record = create_service_record(by_user=ann, category=category_leaf(), description="查询")
    client = client_for(ann)
    url = reverse("records:detail", args=[record.pk])
    page = client.get(url).content.decode()
    assert "转为工单" in page and "用于坐席无法当场解决的诉求" in page
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(url).content.decode()
    assert "Escalate to work order" in page and "转为工单" not in page
    assert "Leave empty to generate six random digits." in page
