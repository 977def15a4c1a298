"""The internal lookup API: token, input validation, the 12329 demo answers, work orders."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from ivr import services
from ivr.models import HousingFundAccount

pytestmark = pytest.mark.django_db

TOKEN = {"HTTP_AUTHORIZATION": f"Bearer {services.lookup_token()}"}


@pytest.fixture
def demo(db):
    call_command("seed_housing_fund_demo")


def post(client, name, data, **headers):
    return client.post(f"/api/ivr/lookup/{name}/", data, content_type="application/json",
                       **(TOKEN if headers == {} else headers))  # fmt: skip


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_NONE": "1"},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": f"Token {services.lookup_token()}"},
    ],  # fmt: skip
)
def test_token_is_required(client, demo, headers) -> None:
    response = post(client, "deposit-balance", {"id_number": "11010519491231002X",
                                                "password": "123456"}, **headers)  # fmt: skip
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "bad_token"


def test_token_from_settings(client, demo, settings) -> None:
    settings.IVR_LOOKUP_TOKEN = "s3cret"
    body = {"id_number": "11010519491231002X", "password": "123456"}
    assert post(client, "deposit-balance", body).status_code in (401, 403)
    response = post(client, "deposit-balance", body, HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.json() == {"found": True, "balance": "12345.67"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"id_number": "123", "password": "123456"},
        {"id_number": "11010519491231002X", "password": "12ab56"},
        {"id_number": "1101051949123100AX", "password": "123456"},
        {"id_number": "11010519491231002X"},
    ],
)
def test_bad_input_is_400(client, demo, body) -> None:
    response = post(client, "deposit-balance", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_deposit_balance(client, demo) -> None:
    ok = post(client, "deposit-balance", {"id_number": "11010519491231002*", "password": "123456"})
    assert ok.json() == {"found": True, "balance": "12345.67"}
    wrong = post(client, "deposit-balance", {"id_number": "11010519491231002X",
                                             "password": "654321"})  # fmt: skip
    assert wrong.json() == {"found": False}
    unknown = post(client, "deposit-balance", {"id_number": "110105194912310010",
                                               "password": "123456"})  # fmt: skip
    assert unknown.json() == {"found": False}


def test_loans(client, demo) -> None:
    two = post(client, "loans", {"id_number": "320102199003154560", "password": "123456"}).json()
    assert two["found"] and two["loan_count"] == 2
    assert two["loan_remaining"] == "610000.00"
    assert two["loan_monthly_payment"] == "3500.33"
    none = post(client, "loans", {"id_number": "11010519491231002X", "password": "123456"})
    assert none.json() == {"found": True, "loan_count": 0}


def test_change_password(client, demo) -> None:
    body = {"id_number": "11010519491231002X", "password": "123456", "new_password": "777777"}
    assert post(client, "change-password", body).json() == {"found": True, "changed": True}
    account = HousingFundAccount.objects.get(id_number="11010519491231002X")
    assert account.check_query_password("777777")
    assert not account.check_query_password("123456")
    assert "777777" not in account.query_password
    again = post(client, "change-password", body).json()
    assert again == {"found": False, "changed": False}
    bad = post(client, "change-password", {**body, "password": "777777", "new_password": "12"})
    assert bad.status_code == 400


def test_work_order_lookup(client, monkeypatch) -> None:
    calls = []

    def lookup(number, password):
        calls.append((number, password))
        if password != "9999":
            return None
        return {"number": number, "status": "processing", "status_label": "处理中",
                "stage": "二线", "closed_at": None}  # fmt: skip

    monkeypatch.setattr("crm.workorders.services.lookup_work_order", lookup)
    found = post(client, "work-order", {"number": "202611220001", "password": "9999"}).json()
    assert found == {
        "found": True, "work_order_number": "WO20261122-0001",
        "work_order_status": "processing", "work_order_status_label": "处理中",
        "work_order_stage": "二线", "work_order_closed": False,
    }  # fmt: skip
    assert post(client, "work-order", {"number": "wo1", "password": "1"}).json() == {"found": False}
    assert calls[-1] == ("WO1", "1")


def test_seed_is_repeatable(demo) -> None:
    call_command("seed_housing_fund_demo")
    assert HousingFundAccount.objects.count() == 3
