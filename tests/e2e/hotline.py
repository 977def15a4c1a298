"""The hotline both browser tests run: its configuration, and signing in at the desk and the
wallboard."""

from pathlib import Path

from django.db import transaction

from crm.customers.models import CustomFieldDefinition
from crm.customers.services import create_customer
from crm.records.models import ServiceCategory
from telephony import models as m
from tests.cti.daemon.harness import wait_for
from tests.telephony.factories import AgentGroupFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-123456"
HOTLINE_DIDS = [{"number": "12329", "flow": "hotline", "language": "zh"}]
# A known customer, owned by agent 1001.
CUSTOMER_NUMBER = "13800138000"


def configure(make_user):
    """The hotline queue; agents 1001 (安娜) and 1002 (鲍勃) in its group; their supervisor
    "sue"; the DID 12329; the customer 王小明; a three-level service category tree."""
    with transaction.atomic():
        group = AgentGroupFactory(name="热线组")
        m.Queue.objects.create(
            code="hotline",
            name="热线",
            group=group,
            ring_timeout_seconds=10,
            announce_interval_seconds=30,
        )
        agents = {}
        for number, name in (("1001", "安娜"), ("1002", "鲍勃")):
            user = make_user(f"agent{number}", "agent", password=PASSWORD)
            agent = m.Agent.objects.create(
                employee_number=number, name=name, extension=number, user=user, wrap_up_seconds=30
            )
            m.GroupMembership.objects.create(agent=agent, group=group, position=int(number))
            agents[number] = agent
        boss = make_user("sue", "supervisor", password=PASSWORD)
        group.supervisors.add(boss)
        m.DID.objects.create(number="12329", flow="hotline")
    CustomFieldDefinition.objects.create(
        key="member_no", label="会员号", field_type="text", show_in_screen_pop=True
    )
    create_customer(
        name="王小明",
        phones=[CUSTOMER_NUMBER],
        vip_level="gold",
        owner=agents["1001"],
        custom_fields={"member_no": "M-778"},
    )
    directory = ServiceCategory.objects.create(name="公积金")
    kind = ServiceCategory.objects.create(name="咨询", parent=directory)
    ServiceCategory.objects.create(name="余额查询", parent=kind)
    return agents, boss


def sign_in(state, name, username, base_url, path):
    """A new browser context signed in as `username` on `path`, kept as page `name`."""
    context = state["browser"].new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{base_url}/login/?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    state[name] = page
    return page


def desk_goes_ready(browser, center, web, name, agent):
    """The agent signs in to the desk (page `name`), logs in to the phone and goes ready."""
    from playwright.sync_api import expect

    def step(state):
        page = sign_in(state, name, agent.user.username, web.url, "/desk/")
        expect(page.get_by_test_id("agent-state")).to_have_text("未登录")
        page.get_by_test_id("login").click()
        expect(page.get_by_test_id("agent-state")).to_have_text("示忙", timeout=10000)
        page.get_by_test_id("ready").click()
        expect(page.get_by_test_id("agent-state")).to_have_text("示闲", timeout=10000)

    browser.run(step)
    wait_for(lambda: center.agent_status(agent.pk) == "ready", what="ready in Redis")
