"""Work order pages in the browser: the new-order page and the actions of the order page."""

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.customers.services import create_customer
from crm.workorders import services
from crm.workorders.models import Workflow, WorkOrder

pytestmark = pytest.mark.django_db

CREATE = reverse("workorders:create")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def detail_url(order) -> str:
    return reverse("workorders:detail", args=[order.pk])


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def customer(db):
    return create_customer(name="张三丰", phones=["+8613912345678"])


def english(client) -> None:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"


def test_queue_links_the_new_order_page_for_back_office_only(client, people, flow):
    client.force_login(people.clerk)
    queue = client.get(reverse("workorders:queue")).content.decode()
    assert f'href="{CREATE}"' in queue
    assert client.get(CREATE).status_code == 200
    client.force_login(people.agent)
    assert f'href="{CREATE}"' not in client.get(reverse("workorders:queue")).content.decode()
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, {"title": "x", "workflow": flow.workflow.pk}).status_code == 403
    assert not WorkOrder.objects.exists()


def test_customer_search_keeps_the_typed_values_and_offers_matches(client, people, flow, customer):
    other = create_customer(name="李四", phones=["+8613800000001"])
    client.force_login(people.clerk)
    typed = {"title": "公积金提取核实", "description": "请核实", "workflow": flow.workflow.pk}
    response = client.post(CREATE, {**typed, "customer_search": "张三", "search_customers": "1"})
    content = response.content.decode()
    assert response.status_code == 200 and not WorkOrder.objects.exists()
    assert f'<option value="{customer.pk}">张三丰 (+8613912345678)</option>' in content
    assert f'<option value="{other.pk}">李四' not in content
    assert 'value="公积金提取核实"' in content and "请核实" in content
    # A search is not a submission: nothing is reported missing yet.
    assert 'class="errorlist' not in content
    by_phone = client.post(CREATE, {"customer_search": "139 1234", "search_customers": "1"})
    assert f'<option value="{customer.pk}">张三丰' in by_phone.content.decode()
    nothing = client.post(CREATE, {"customer_search": "王五", "search_customers": "1"})
    assert "没有匹配的客户" in nothing.content.decode()


def test_creating_an_order_shows_number_and_password_once(client, people, flow, customer):
    client.force_login(people.clerk)
    response = client.post(
        CREATE,
        {
            "title": "公积金提取核实",
            "description": "客户来电，需要后台核实提取资格",
            "workflow": flow.workflow.pk,
            "priority": "high",
            "customer": customer.pk,
            "query_password": "",
            "attachments": [
                SimpleUploadedFile("身份证.png", PNG, content_type="image/png"),
                SimpleUploadedFile("说明.txt", "提取原因".encode(), content_type="text/plain"),
            ],
        },
    )
    order = WorkOrder.objects.get()
    assert response.status_code == 302 and response.url == detail_url(order)
    assert order.priority == "high" and order.customer == customer
    assert order.created_by == people.clerk and order.current_node == flow.start
    assert sorted(order.attachments.values_list("original_name", flat=True)) == [
        "说明.txt",
        "身份证.png",
    ]
    page = client.get(response.url).content.decode()
    shown = re.search(r'<span class="secret">(\d{6})</span>', page)
    assert shown is not None, "the generated password is not on the page"
    assert check_password(shown.group(1), order.query_password)
    assert f'<span class="number">{order.number}</span>' in page
    assert "查询密码" in page and "身份证.png" in page
    again = client.get(response.url).content.decode()
    assert order.number in again
    assert 'class="secret"' not in again and shown.group(1) not in again
    # The customer can use what was shown.
    assert services.lookup_work_order(order.number, shown.group(1))["title"] == order.title


def test_a_chosen_password_is_the_one_shown_and_stored(client, people, flow):
    client.force_login(people.lead)
    response = client.post(
        CREATE,
        {
            "title": "投诉",
            "workflow": flow.workflow.pk,
            "priority": "normal",
            "query_password": "2468",
        },
    )
    order = WorkOrder.objects.get()
    page = client.get(response.url).content.decode()
    assert '<span class="secret">2468</span>' in page
    assert check_password("2468", order.query_password) and order.customer is None


def test_field_errors_are_shown_next_to_their_fields(client, people, flow):
    client.force_login(people.clerk)
    response = client.post(CREATE, {"title": "", "priority": "normal", "query_password": "12"})
    assert response.status_code == 200 and not WorkOrder.objects.exists()
    errors = response.context["form"].errors
    assert set(errors) == {"title", "workflow", "query_password"}
    content = response.content.decode()
    assert content.count('class="errorlist') == 3 and "该字段是必填项" in content


def test_a_rejected_attachment_creates_nothing(client, people, flow):
    client.force_login(people.clerk)
    fake = SimpleUploadedFile("证明.png", b"MZ\x90\x00", content_type="image/png")
    response = client.post(
        CREATE,
        {"title": "核实", "workflow": flow.workflow.pk, "priority": "normal", "attachments": fake},
    )
    assert response.status_code == 200 and not WorkOrder.objects.exists()
    assert list(response.context["form"].errors) == ["attachments"]
    assert "证明.png" in response.content.decode()


def test_a_workflow_without_start_is_reported_on_the_workflow_field(client, people):
    broken = Workflow.objects.create(name="未配置流程")
    client.force_login(people.clerk)
    response = client.post(CREATE, {"title": "核实", "workflow": broken.pk, "priority": "normal"})
    assert response.status_code == 200 and not WorkOrder.objects.exists()
    assert response.context["form"].errors["workflow"] == ["此流程没有开始环节。"]


def test_pages_are_chinese_by_default_and_english_on_request(client, people, make_order):
    order = make_order()
    client.force_login(people.clerk)
    page = client.get(CREATE)
    assert page["Content-Language"] == "zh-hans"
    assert "新建工单" in page.content.decode() and "搜索客户" in page.content.decode()
    assert "上传" in client.get(detail_url(order)).content.decode()
    english(client)
    page = client.get(CREATE).content.decode()
    assert "New work order" in page and "Search customers" in page and "新建工单" not in page
    detail = client.get(detail_url(order)).content.decode()
    assert "Upload" in detail and "Next step" in detail


def test_advance_with_a_comment_and_internal_flag(client, people, flow, make_order):
    order = make_order()
    client.force_login(people.clerk)
    url = reverse("workorders:advance", args=[order.pk, flow.to_work.pk])
    assert url in client.get(detail_url(order)).content.decode()
    response = client.post(url, {"comment": "资料齐全，转办", "internal": "on"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.current_node == flow.work and order.status == "in_progress"
    step = order.steps.latest("id")
    assert step.comment == "资料齐全，转办" and step.is_internal and step.actor == people.clerk


def test_advance_refusals_are_shown_on_the_page(client, people, flow, make_order):
    order = make_order()
    services.advance_work_order(order, flow.to_work, people.clerk)
    client.force_login(people.clerk)
    # The clerk opened the order and still sees it, but it is now the handling department's.
    page = client.get(detail_url(order)).content.decode()
    assert reverse("workorders:advance", args=[order.pk, flow.finish.pk]) not in page
    response = client.post(
        reverse("workorders:advance", args=[order.pk, flow.finish.pk]), follow=True
    )
    assert "您无权执行此操作" in response.content.decode()
    client.force_login(people.handler)
    # A stale page: the transition of the stage the order has already left.
    response = client.post(
        reverse("workorders:advance", args=[order.pk, flow.to_work.pk]), follow=True
    )
    assert "工单当前环节不能进行此流转" in response.content.decode()
    order.refresh_from_db()
    assert order.current_node == flow.work


def test_claim_button_and_someone_else_already_claimed(client, people, flow, make_order):
    order = make_order()
    services.advance_work_order(order, flow.to_work, people.clerk)
    claim_url = reverse("workorders:claim", args=[order.pk])
    client.force_login(people.handler)
    assert claim_url in client.get(detail_url(order)).content.decode()
    assert client.post(claim_url).status_code == 302
    order.refresh_from_db()
    assert order.assignee == people.handler
    assert claim_url not in client.get(detail_url(order)).content.decode()
    client.force_login(people.lead)
    response = client.post(claim_url, follow=True)
    assert "此工单已由他人处理" in response.content.decode()
    order.refresh_from_db()
    assert order.assignee == people.handler


def test_cancel_needs_a_reason_and_a_supervisor(client, people, make_order):
    order = make_order()
    cancel_url = reverse("workorders:cancel", args=[order.pk])
    client.force_login(people.clerk)
    assert cancel_url not in client.get(detail_url(order)).content.decode()
    response = client.post(cancel_url, {"comment": "重复"}, follow=True)
    assert "您无权执行此操作" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "open"
    client.force_login(people.supervisor)
    assert cancel_url in client.get(detail_url(order)).content.decode()
    response = client.post(cancel_url, {"comment": "   "})
    assert response.status_code == 200
    assert "comment" in response.context["cancel_form"].errors
    assert 'class="errorlist' in response.content.decode()
    order.refresh_from_db()
    assert order.status == "open"
    client.post(cancel_url, {"comment": "客户撤回"})
    order.refresh_from_db()
    assert order.status == "cancelled" and order.steps.latest("id").comment == "客户撤回"
    page = client.get(detail_url(order)).content.decode()
    assert cancel_url not in page and "已撤销" in page


def test_attachments_through_the_order_page(client, people, make_order, settings):
    settings.CRM_ATTACHMENT_MAX_BYTES = 1024
    order = make_order()
    url = reverse("workorders:attach", args=[order.pk])
    client.force_login(people.clerk)
    assert url in client.get(detail_url(order)).content.decode()
    png = SimpleUploadedFile("回执.png", PNG, content_type="image/png")
    assert client.post(url, {"file": png}).status_code == 302
    big = SimpleUploadedFile("说明.txt", "说".encode() * 600, content_type="text/plain")
    response = client.post(url, {"file": big})
    assert response.status_code == 200 and "file" in response.context["attachment_form"].errors
    assert "文件过大" in response.content.decode()
    assert list(order.attachments.values_list("original_name", flat=True)) == ["回执.png"]
    assert "回执.png" in client.get(detail_url(order)).content.decode()
    client.force_login(people.outsider)
    other = SimpleUploadedFile("x.png", PNG, content_type="image/png")
    assert client.post(url, {"file": other}).status_code == 404
