"""Customer self-query: right and wrong passwords, internal comments, rate limiting."""

import pytest
from django.urls import reverse

from crm.workorders import services
from crm.workorders.selfquery import SelfQueryThrottle

pytestmark = pytest.mark.django_db

PAGE = "/crm/workorders/query/"
API = "/api/crm/workorders/self-query/"


@pytest.fixture
def order(make_order, flow, people):
    order = make_order(query_password="135790")
    services.advance_work_order(order, flow.to_work, people.clerk, "已转公积金中心")
    services.advance_work_order(order, flow.back, people.handler, "内部：资料不全", internal=True)
    return order


def test_lookup_returns_status_and_public_history(order):
    result = services.lookup_work_order(order.number.lower(), "135790")
    assert result["number"] == order.number and result["status"] == "in_progress"
    assert result["stage"] == "受理"
    assert [step["stage"] for step in result["steps"]] == ["受理", "处理", "受理"]
    comments = [step["comment"] for step in result["steps"]]
    assert "已转公积金中心" in comments and "内部：资料不全" not in comments


def test_lookup_refuses_wrong_password_and_unknown_number(order):
    assert services.lookup_work_order(order.number, "000000") is None
    assert services.lookup_work_order(order.number, "") is None
    assert services.lookup_work_order("WO19990101-0001", "135790") is None


def test_public_page_needs_no_login(client, order, redis_client):
    assert client.get(PAGE).status_code == 200
    response = client.post(PAGE, {"number": order.number, "password": "135790"})
    content = response.content.decode()
    assert response.status_code == 200
    assert order.title in content and "已转公积金中心" in content
    assert "内部：资料不全" not in content


def test_wrong_password_shows_an_error(client, order, redis_client):
    response = client.post(PAGE, {"number": order.number, "password": "000000"})
    assert response.status_code == 200
    assert order.title not in response.content.decode()
    assert response.context["failed"]


def test_failed_attempts_are_rate_limited_per_ip(client, order, redis_client, settings):
    for _attempt in range(5):
        client.post(PAGE, {"number": order.number, "password": "000000"})
    # Even the right password is refused while the address is blocked.
    response = client.post(PAGE, {"number": order.number, "password": "135790"})
    assert response.status_code == 429
    assert order.title not in response.content.decode()
    response = client.post(
        API, {"number": order.number, "password": "135790"}, content_type="application/json"
    )
    assert response.status_code == 429
    # Another address is not affected.
    response = client.post(
        PAGE, {"number": order.number, "password": "135790"}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 200 and order.title in response.content.decode()
    key = SelfQueryThrottle.KEY_PREFIX + "127.0.0.1"
    assert 0 < redis_client.ttl(key) <= 900


def test_api_self_query(client, order, redis_client):
    response = client.post(
        API, {"number": order.number, "password": "135790"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["stage"] == "受理"
    response = client.post(
        API, {"number": order.number, "password": "1"}, content_type="application/json"
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_throttle_window_counts_from_first_failure(redis_client):
    throttle = SelfQueryThrottle(redis_client, max_failures=2, window_seconds=60)
    assert not throttle.is_blocked("1.2.3.4")
    throttle.record_failure("1.2.3.4")
    assert not throttle.is_blocked("1.2.3.4")
    throttle.record_failure("1.2.3.4")
    assert throttle.is_blocked("1.2.3.4") and 0 < throttle.retry_after("1.2.3.4") <= 60
    assert reverse("workorders:self_query") == PAGE
