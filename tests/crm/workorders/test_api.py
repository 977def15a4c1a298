"""Work order API: permissions per role, actions, filters, attachments, query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.workorders import services

pytestmark = pytest.mark.django_db

URL = "/api/crm/workorders/orders/"


def test_backoffice_creates_and_gets_the_query_password_once(client, flow, people):
    client.force_login(people.clerk)
    response = client.post(
        URL,
        {"title": "核实缴存", "workflow": flow.workflow.pk, "priority": "high"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("WO") and len(body["query_password"]) == 6
    detail = client.get(f"{URL}{body['id']}/").json()
    assert "query_password" not in detail and detail["current_node_name"] == "受理"


def test_agent_cannot_create_directly_but_escalates_own_record(client, flow, people, make_record):
    client.force_login(people.agent)
    response = client.post(
        URL, {"title": "x", "workflow": flow.workflow.pk}, content_type="application/json"
    )
    assert response.status_code == 403
    own = make_record(people.agent)
    foreign = make_record(people.other_agent)
    payload = {"service_record": own.pk, "workflow": flow.workflow.pk}
    response = client.post(f"{URL}escalate/", payload, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["service_record"] == own.pk
    payload["service_record"] = foreign.pk
    response = client.post(f"{URL}escalate/", payload, content_type="application/json")
    assert response.status_code == 403
    assert [row["service_record"] for row in client.get(URL).json()["results"]] == [own.pk]


def test_visibility_per_role(client, make_order, people):
    order = make_order()
    expectations = {
        people.clerk: [order.pk],
        people.handler: [],
        people.outsider: [],
        people.agent: [],
        people.supervisor: [order.pk],
        people.admin: [order.pk],
    }
    for user, expected in expectations.items():
        client.force_login(user)
        ids = [row["id"] for row in client.get(URL).json()["results"]]
        assert ids == expected, user.username
    client.force_login(people.outsider)
    assert client.get(f"{URL}{order.pk}/").status_code == 404
    client.logout()
    assert client.get(URL).status_code == 403


def test_advance_allowed_and_refused(client, make_order, flow, people):
    order = make_order()
    client.force_login(people.clerk)
    response = client.post(
        f"{URL}{order.pk}/advance/",
        {"transition": flow.finish.pk},
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["code"] == "transition_not_allowed"
    response = client.post(
        f"{URL}{order.pk}/advance/",
        {"transition": flow.to_work.pk, "comment": "转办"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    # The clerk still sees the order (created it) but no longer handles it.
    response = client.post(
        f"{URL}{order.pk}/advance/", {"transition": flow.finish.pk}, content_type="application/json"
    )
    assert response.status_code == 403
    steps = client.get(f"{URL}{order.pk}/steps/").json()
    assert [(s["from_node_name"], s["to_node_name"]) for s in steps] == [
        ("", "受理"),
        ("受理", "处理"),
    ]
    client.force_login(people.handler)
    assert client.post(f"{URL}{order.pk}/claim/").json()["assignee_name"] == "handler"
    assert client.post(f"{URL}{order.pk}/cancel/", {"comment": "x"}).status_code == 403
    client.force_login(people.supervisor)
    response = client.post(f"{URL}{order.pk}/cancel/", {"comment": "客户撤回"})
    assert response.json()["status"] == "cancelled"


def test_filters_by_status_department_and_overdue(client, make_order, flow, people):
    late = make_order("逾期")
    on_time = make_order("正常")
    services.advance_work_order(on_time, flow.to_work, people.clerk)
    from django.utils import timezone

    type(late).objects.filter(pk=late.pk).update(deadline=timezone.now())
    client.force_login(people.supervisor)

    def ids(**params):
        return [row["id"] for row in client.get(URL, params).json()["results"]]

    assert ids(overdue="true") == [late.pk]
    assert ids(overdue="false") == [on_time.pk]
    assert ids(department=flow.handling.pk) == [on_time.pk]
    assert ids(status="open") == [late.pk]


def test_list_query_count_does_not_grow(client, make_order, people):
    client.force_login(people.clerk)

    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(URL).status_code == 200
        return len(context.captured_queries)

    make_order()
    few = count()
    for _index in range(5):
        make_order()
    assert count() == few
    assert few <= 8


def test_notifications_list_only_own_and_mark_read(client, make_order, flow, people):
    order = make_order()
    services.advance_work_order(order, flow.to_work, people.clerk)
    services.send_overdue_alerts(order.deadline)  # not yet past: nothing
    from crm.workorders.models import Notification

    Notification.objects.create(recipient=people.handler, text="看一下", work_order=order)
    Notification.objects.create(recipient=people.clerk, text="别人的")
    client.force_login(people.handler)
    rows = client.get("/api/crm/workorders/notifications/").json()["results"]
    assert [row["text"] for row in rows] == ["看一下"]
    response = client.post(f"/api/crm/workorders/notifications/{rows[0]['id']}/read/")
    assert response.json()["read"] is True
    page = client.get("/crm/workorders/notifications/")
    assert "看一下" in page.content.decode()


def test_attachment_upload_checks_type_and_size(client, make_order, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CRM_ATTACHMENT_MAX_BYTES = 1024
    order = make_order()
    client.force_login(people.clerk)
    url = f"{URL}{order.pk}/attachments/"
    png = SimpleUploadedFile("证明.png", b"\x89PNG\r\n\x1a\n....", content_type="image/png")
    assert client.post(url, {"file": png}).status_code == 201
    exe = SimpleUploadedFile("证明.png", b"MZ\x90\x00", content_type="image/png")
    assert client.post(url, {"file": exe}).status_code == 400
    big = SimpleUploadedFile("说明.txt", "说".encode() * 600, content_type="text/plain")
    assert client.post(url, {"file": big}).status_code == 400
    assert [row["content_type"] for row in client.get(url).json()] == ["image/png"]


def test_queue_and_detail_pages(client, make_order, flow, people):
    order = make_order()
    client.force_login(people.clerk)
    page = client.get("/crm/workorders/", {"status": "open"}).content.decode()
    assert order.number in page
    detail = client.get(f"/crm/workorders/{order.pk}/").content.decode()
    assert f"/crm/workorders/{order.pk}/advance/{flow.to_work.pk}/" in detail
    client.post(f"/crm/workorders/{order.pk}/advance/{flow.to_work.pk}/", {"comment": "转"})
    order.refresh_from_db()
    assert order.current_node == flow.work
