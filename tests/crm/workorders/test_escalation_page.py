"""Escalating a service record from its page: who may, the password shown once, no twice."""

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from crm.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def record_url(record) -> str:
    return reverse("records:detail", args=[record.pk])


def escalate_url(record) -> str:
    return reverse("records:escalate", args=[record.pk])


def escalation(flow, **fields) -> dict:
    data = {
        "escalate-title": "公积金提取核实",
        "escalate-workflow": flow.workflow.pk,
        "escalate-priority": "urgent",
        "escalate-description": "",
        "escalate-query_password": "",
    }
    data.update({f"escalate-{name}": value for name, value in fields.items()})
    return data


def test_agent_escalates_own_record_and_sees_the_password_once(client, people, flow, make_record):
    record = make_record(people.agent)
    client.force_login(people.agent)
    page = client.get(record_url(record)).content.decode()
    assert escalate_url(record) in page
    assert 'name="escalate-title" value="提取咨询"' in page  # prefilled from the category
    response = client.post(escalate_url(record), escalation(flow))
    assert response.status_code == 302 and response.url == record_url(record)
    order = WorkOrder.objects.get()
    assert order.service_record == record and order.priority == "urgent"
    assert order.title == "公积金提取核实" and order.description == record.description
    page = client.get(record_url(record)).content.decode()
    shown = re.search(r'<span class="secret">(\d{6})</span>', page)
    assert shown and check_password(shown.group(1), order.query_password)
    assert f'<span class="number">{order.number}</span>' in page
    order_link = f'<a href="{reverse("workorders:detail", args=[order.pk])}">{order.number}</a>'
    assert order_link in page
    assert escalate_url(record) not in page  # escalated: no second form
    again = client.get(record_url(record)).content.decode()
    assert order_link in again and 'class="secret"' not in again
    assert client.get(reverse("workorders:detail", args=[order.pk])).status_code == 200


def test_another_agents_record_cannot_be_escalated(client, people, flow, make_record):
    record = make_record(people.agent)
    client.force_login(people.other_agent)
    assert client.get(record_url(record)).status_code == 404
    assert client.post(escalate_url(record), escalation(flow)).status_code == 404
    assert not WorkOrder.objects.exists()


def test_second_escalation_is_refused_with_the_reason(client, people, flow, make_record):
    record = make_record(people.agent)
    client.force_login(people.agent)
    client.post(escalate_url(record), escalation(flow))
    # The same record posted again (a second tab, a double click).
    response = client.post(escalate_url(record), escalation(flow, title="再次"))
    assert response.status_code == 409
    assert "此业务记录已生成工单" in response.content.decode()
    assert WorkOrder.objects.count() == 1
    client.force_login(people.clerk)
    response = client.post(escalate_url(record), escalation(flow))
    assert response.status_code == 409 and WorkOrder.objects.count() == 1


def test_escalation_form_errors_are_shown(client, people, flow, make_record):
    record = make_record(people.agent)
    client.force_login(people.agent)
    response = client.post(
        escalate_url(record), escalation(flow, title="", workflow="", query_password="1")
    )
    assert response.status_code == 200 and not WorkOrder.objects.exists()
    form = response.context["escalate_form"]
    assert set(form.errors) == {"title", "workflow", "query_password"}
    assert response.content.decode().count('class="errorlist') == 3


def test_back_office_sees_the_order_number_but_links_only_visible_orders(
    client, people, flow, make_record
):
    record = make_record(people.agent)
    client.force_login(people.agent)
    client.post(escalate_url(record), escalation(flow))
    order = WorkOrder.objects.get()
    # `outsider` reads every record but is in no department of this order.
    client.force_login(people.outsider)
    page = client.get(record_url(record)).content.decode()
    assert order.number in page
    assert reverse("workorders:detail", args=[order.pk]) not in page
    assert 'class="secret"' not in page


def test_record_page_in_chinese_and_english(client, people, flow, make_record):
    record = make_record(people.agent)
    client.force_login(people.agent)
    assert "转为工单" in client.get(record_url(record)).content.decode()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(record_url(record)).content.decode()
    assert "Escalate to work order" in page and "转为工单" not in page
