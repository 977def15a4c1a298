"""Customers API per role, the query-count guard, the landing page and the history page."""

import pytest
from django.test import Client

from crm.coupons.services import issue_coupon
from crm.customers.choices import FieldType
from crm.customers.services import create_customer
from crm.records.services import create_service_record
from telephony.models import Agent
from tests.crm.customers.factories import FieldFactory
from tests.crm.records.factories import category_leaf

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def users(make_user):
    agent = make_user("agent1", "agent")
    Agent.objects.create(employee_number="1001", extension="8001", name="坐席一", user=agent)
    return {
        "agent": agent,
        "backoffice": make_user("bo1", "backoffice"),
        "supervisor": make_user("sup1", "supervisor"),
        "admin": make_user("admin1", "admin"),
        "nobody": make_user("nobody"),
    }


@pytest.mark.parametrize(
    ("role", "read", "write", "define_fields"),
    [
        ("agent", 200, 403, 403),
        ("backoffice", 200, 201, 403),
        ("supervisor", 200, 201, 403),
        ("admin", 200, 201, 201),
        ("nobody", 403, 403, 403),
    ],
)
def test_customer_api_permissions_per_role(users, role, read, write, define_fields):
    client = client_for(users[role])
    assert client.get("/api/crm/customers/").status_code == read
    response = client.post(
        "/api/crm/customers/",
        {"name": "新客户", "phones": ["13800138000"]},
        content_type="application/json",
    )
    assert response.status_code == write
    response = client.post(
        "/api/crm/custom-fields/",
        {"key": "gender", "label": "性别", "field_type": "choice", "choices": ["男", "女"]},
        content_type="application/json",
    )
    assert response.status_code == define_fields


def test_api_reports_custom_field_errors_per_field(users):
    FieldFactory(key="gender", field_type=FieldType.CHOICE, choices=["男", "女"])
    response = client_for(users["backoffice"]).post(
        "/api/crm/customers/",
        {"name": "x", "phones": ["bad"], "custom_fields": {"gender": "未知"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"phones", "custom_fields"}
    assert list(body["fields"]["custom_fields"]) == ["gender"]


def test_lookup_by_phone_and_not_found_code(users):
    customer = create_customer(name="张三", phones=["13800138000"])
    client = client_for(users["agent"])
    response = client.get("/api/crm/customers/by-phone/", {"number": "+86 138 0013 8000"})
    assert response.json()["id"] == customer.pk
    response = client.get("/api/crm/customers/by-phone/", {"number": "13900000000"})
    assert (response.status_code, response.json()["code"]) == (404, "customer_not_found")


def test_customer_list_query_count_does_not_grow(users, django_assert_max_num_queries):
    for index in range(30):
        create_customer(name=f"客户{index}", phones=[f"+86138{index:08d}", f"+86139{index:08d}"])
    client = client_for(users["backoffice"])
    client.get("/api/crm/customers/")  # warm the session and role caches
    with django_assert_max_num_queries(8):
        response = client.get("/api/crm/customers/?limit=30")
    assert len(response.json()["results"]) == 30


def test_export_api_returns_filtered_workbook(users):
    import io

    from openpyxl import load_workbook

    create_customer(name="北京客户", phones=["13800138000"], region="北京")
    create_customer(name="上海客户", phones=["13900139000"], region="上海")
    response = client_for(users["backoffice"]).get("/api/crm/customers/export/?region=北京")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == ["北京客户"]
    assert client_for(users["agent"]).get("/api/crm/customers/export/").status_code == 403


def test_landing_page_lists_and_searches_customers_in_chinese(users):
    create_customer(name="张三", phones=["13800138000"])
    create_customer(name="李四", phones=["13900139000"])
    client = client_for(users["backoffice"])
    page = client.get("/crm/").content.decode()
    assert "客户" in page and "张三" in page and "李四" in page
    assert "业务记录" in page  # link to the records page
    page = client.get("/crm/", {"q": "13900139000"}).content.decode()
    assert "李四" in page and "张三" not in page


def test_landing_page_in_english_when_chosen(users):
    client = client_for(users["backoffice"])
    client.cookies["django_language"] = "en"
    page = client.get("/crm/").content.decode()
    assert "Customers" in page and "Service records" in page


def test_history_page_shows_records_and_coupons(users):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from crm.coupons.services import create_coupon_batch

    customer = create_customer(name="张三", phones=["13800138000"])
    create_service_record(
        by_user=users["agent"], category=category_leaf(), description="宽带故障", customer=customer
    )
    batch = create_coupon_batch(
        name="春节券",
        value=Decimal("20"),
        expires_at=timezone.now() + timedelta(days=9),
        quantity=1,
    )
    coupon = issue_coupon(batch, customer, users["agent"].agent)
    page = client_for(users["agent"]).get(f"/crm/customers/{customer.pk}/").content.decode()
    assert "宽带故障" in page and "账户 / 咨询 / 密码重置" in page
    assert coupon.code in page and "春节券" in page
    assert "通话与录音" in page
    assert "暂无通话。" in page


def test_history_page_lists_the_customers_calls_with_recordings(users):
    import datetime as dt

    from cti.models import CallRecord, Recording

    customer = create_customer(name="李四", phones=["13900139000"])
    started = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    for uuid, caller in (("c1", "13900139000"), ("c2", "+8613900139000"), ("c3", "13700137000")):
        CallRecord.objects.create(
            call_uuid=uuid,
            direction="inbound",
            caller=caller,
            callee="12329",
            started_at=started,
            queue="hotline",
            talk_seconds=75,
            hangup_by="agent",
        )
    # A call the desk dialled to the customer: the caller is the agent's extension.
    CallRecord.objects.create(
        call_uuid="c4",
        direction="outbound",
        caller="1001",
        callee="13900139000",
        started_at=started,
        queue="dialled-out",
        talk_seconds=30,
        hangup_by="customer",
    )
    Recording.objects.create(
        subject="c1",
        seq=1,
        call_uuid="c1",
        path="/r/c1.wav",
        duration_seconds=75,
        size_bytes=1200,
        channels=1,
        saved_at=started,
    )
    page = client_for(users["agent"]).get(f"/crm/customers/{customer.pk}/").content.decode()
    calls = page.split('id="calls"')[1].split("</section>")[0]
    assert calls.count("hotline") == 2  # both spellings of the number, not the stranger
    assert "dialled-out" in calls  # the call to the customer too
    assert "75 s" in calls
