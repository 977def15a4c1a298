"""Coupons API per role: batches, issue, redeem with stable error codes, report."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from crm.customers.services import create_customer

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_batch_issue_redeem_report_through_the_api(make_user):
    backoffice = client_for(make_user("bo", "backoffice"))
    agent = client_for(make_user("ann", "agent"))
    expires = (timezone.now() + dt.timedelta(days=10)).isoformat()
    payload = {"name": "夏季券", "value": "30.00", "expires_at": expires, "quantity": 3}
    assert agent.post("/api/crm/coupon-batches/", payload).status_code == 403
    response = backoffice.post("/api/crm/coupon-batches/", payload)
    assert response.status_code == 201
    batch_id = response.json()["id"]
    customer = create_customer(name="张三", phones=["13800138000"])
    issued = agent.post(f"/api/crm/coupon-batches/{batch_id}/issue/", {"customer": customer.pk})
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert agent.post("/api/crm/coupons/redeem/", {"code": code}).json()["status"] == "redeemed"
    again = agent.post("/api/crm/coupons/redeem/", {"code": code})
    assert (again.status_code, again.json()["code"]) == (409, "already_redeemed")
    assert agent.get("/api/crm/coupon-batches/report/").status_code == 403
    (row,) = backoffice.get("/api/crm/coupon-batches/report/").json()
    assert (row["total"], row["issued"], row["redeemed"], row["expired"]) == (3, 1, 1, 0)
    page = backoffice.get("/crm/coupons/").content.decode()
    assert "夏季券" in page and "电子券批次统计" in page
