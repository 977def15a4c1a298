"""Service records API: agents see and change their own records, back office all."""

import pytest
from django.test import Client

from crm.records.services import create_service_record
from telephony.models import Agent
from tests.crm.records.factories import category_leaf

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(make_user):
    ann = make_user("ann", "agent")
    Agent.objects.create(employee_number="1001", extension="8001", name="安", user=ann)
    bob = make_user("bob", "agent")
    Agent.objects.create(employee_number="1002", extension="8002", name="博", user=bob)
    return {
        "ann": ann,
        "bob": bob,
        "backoffice": make_user("bo", "backoffice"),
        "supervisor": make_user("sup", "supervisor"),
        "admin": make_user("adm", "admin"),
    }


def test_agent_creates_records_for_self(people):
    leaf = category_leaf()
    response = client_for(people["ann"]).post(
        "/api/crm/service-records/",
        {
            "category": leaf.pk,
            "description": "查询账单",
            "caller_number": "13800138000",
            "call_uuid": "uuid-1",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["agent"] == people["ann"].agent.pk and body["status"] == "open"


def test_non_leaf_category_is_refused_with_a_code(people):
    leaf = category_leaf()
    response = client_for(people["ann"]).post(
        "/api/crm/service-records/",
        {"category": leaf.parent.pk, "description": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "category" in response.json()["fields"]


@pytest.mark.parametrize(
    ("role", "sees"), [("ann", 1), ("bob", 1), ("backoffice", 2), ("supervisor", 2), ("admin", 2)]
)
def test_visibility_per_role(people, role, sees):
    for owner in ("ann", "bob"):
        create_service_record(by_user=people[owner], category=category_leaf(), description=owner)
    response = client_for(people[role]).get("/api/crm/service-records/")
    assert response.json()["count"] == sees


def test_agent_cannot_follow_up_another_agents_record(people):
    record = create_service_record(by_user=people["ann"], category=category_leaf(), description="x")
    url = f"/api/crm/service-records/{record.pk}/follow-ups/"
    assert client_for(people["bob"]).post(url, {"note": "hi"}).status_code == 404
    assert client_for(people["ann"]).post(url, {"note": "回电"}).status_code == 201
    response = client_for(people["backoffice"]).post(
        f"/api/crm/service-records/{record.pk}/close/", {"note": "完成"}
    )
    assert response.json()["status"] == "closed"
    again = client_for(people["ann"]).post(url, {"note": "再次"})
    assert (again.status_code, again.json()["code"]) == (409, "record_closed")


@pytest.mark.parametrize(("role", "code"), [("ann", 403), ("backoffice", 403), ("admin", 201)])
def test_categories_are_admin_only(people, role, code):
    response = client_for(people[role]).post(
        "/api/crm/service-categories/", {"name": "新目录"}, content_type="application/json"
    )
    assert response.status_code == code


def test_unfinished_page_lists_own_open_records(people):
    mine = create_service_record(
        by_user=people["ann"], category=category_leaf(), description="我的"
    )
    create_service_record(by_user=people["bob"], category=category_leaf(), description="别人的")
    page = client_for(people["ann"]).get("/crm/records/unfinished/").content.decode()
    assert f"/crm/records/{mine.pk}/" in page and "我的未完成记录" in page
    assert "别人的" not in page
