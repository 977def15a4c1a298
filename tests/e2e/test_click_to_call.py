"""Click to call in Chromium: an agent dials a customer from the desk's dial box, the
supervisor's wallboard shows the outbound call while it lasts, and its CDR lands in PostgreSQL.

Real parts: the web tier (two uvicorn workers), the CTI daemon process, the fact persister
process, the switch simulator with the project's dialplan (the customer answers behind the
trunk), PostgreSQL, Redis, Debian's Chromium.
"""

from pathlib import Path

import pytest

from cti.models import CallRecord
from tests.cti.daemon.harness import wait_for
from tests.e2e.hotline import (
    CUSTOMER_NUMBER,
    HOTLINE_DIDS,
    SCREENSHOTS,
    configure,
    desk_goes_ready,
    sign_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]


def test_agent_dials_a_customer_and_the_supervisor_sees_the_call(
    center, web, persister, browser, make_user
):
    from playwright.sync_api import expect

    agents, _boss = configure(make_user)
    center.start(dids=HOTLINE_DIDS, extensions=["1001", "1002"])
    center.simulator.add_endpoint("1001", answer_delay=0.5)
    # Behind the trunk: the customer answers and would talk for longer than the test lasts.
    customer_phone = center.simulator.add_endpoint(CUSTOMER_NUMBER, answer_delay=1.0, talk_time=600)
    anna = agents["1001"]

    desk_goes_ready(browser, center, web, "desk", anna)

    def supervisor_watches_the_floor(state):
        page = sign_in(state, "board", "sue", web.url, "/wallboard/")
        row = page.locator(f"tr[data-agent='{anna.pk}']")
        expect(row.get_by_test_id("agent-state")).to_have_text("示闲", timeout=10000)
        expect(page.get_by_test_id("no-calls")).to_be_visible()

    browser.run(supervisor_watches_the_floor)

    def agent_dials_the_customer(state):
        page = state["desk"]
        page.get_by_test_id("dial-number").press_sequentially(CUSTOMER_NUMBER)
        page.get_by_test_id("dial").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("拨打: 已完成", timeout=10000)
        # Held out of the queues while the call lasts.
        expect(page.get_by_test_id("agent-state")).to_have_text("示忙", timeout=10000)
        expect(page.get_by_test_id("agent-reason")).to_have_text("外呼")
        # The agent's phone rings first, then the customer's; connected once they answer.
        expect(page.get_by_test_id("call-state")).to_have_text("通话中", timeout=15000)
        expect(page.get_by_test_id("call-direction")).to_have_text("呼出")
        expect(page.get_by_test_id("customer-name")).to_have_text("王小明", timeout=10000)

    browser.run(agent_dials_the_customer)
    assert customer_phone.channels and customer_phone.channels[-1].answered
    assert center.agent_status(anna.pk) == "busy"

    def supervisor_sees_the_outbound_call(state):
        page = state["board"]
        call = page.get_by_test_id("call-row")
        expect(call).to_have_count(1, timeout=10000)
        expect(call.get_by_test_id("call-direction")).to_have_text("呼出")
        expect(call.get_by_test_id("call-number")).to_have_text(CUSTOMER_NUMBER)
        expect(call.get_by_test_id("call-agent")).to_have_text("安娜")
        expect(call.get_by_test_id("call-state")).to_have_text("通话中")
        row = page.locator(f"tr[data-agent='{anna.pk}']")
        expect(row.get_by_test_id("agent-state")).to_have_text("示忙")
        expect(row.get_by_test_id("agent-reason")).to_have_text("外呼")
        expect(row.get_by_test_id("agent-call")).to_have_text(f"呼出 {CUSTOMER_NUMBER} · 通话中")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "wallboard-click-to-call.png"), full_page=True)

    browser.run(supervisor_sees_the_outbound_call)

    def agent_hangs_up(state):
        page = state["desk"]
        page.get_by_test_id("hangup").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("挂断: 已完成", timeout=10000)
        expect(page.get_by_test_id("call-panel")).to_contain_text("没有通话", timeout=15000)
        expect(page.get_by_test_id("agent-state")).to_have_text("示闲", timeout=10000)
        # The service record is about the customer, not the agent's own extension.
        expect(page.locator("#record-form [name=caller_number]")).to_have_value(CUSTOMER_NUMBER)

    browser.run(agent_hangs_up)

    def the_wallboard_lets_the_call_go(state):
        page = state["board"]
        expect(page.get_by_test_id("call-row")).to_have_count(0, timeout=10000)
        expect(page.get_by_test_id("no-calls")).to_be_visible()
        row = page.locator(f"tr[data-agent='{anna.pk}']")
        expect(row.get_by_test_id("agent-state")).to_have_text("示闲")
        expect(row.get_by_test_id("agent-call")).to_have_text("–")

    browser.run(the_wallboard_lets_the_call_go)
    assert center.agent_status(anna.pk) == "ready"

    cdr = wait_for(
        lambda: CallRecord.objects.filter(callee=CUSTOMER_NUMBER, ended_at__isnull=False).first(),
        20,
        what="the CDR in PostgreSQL\n" + persister.log(),
    )
    assert cdr.direction == "outbound" and cdr.caller == "1001" and cdr.agent_id == anna.pk
    assert cdr.answered_at is not None and cdr.hangup_cause == "NORMAL_CLEARING"
    recording = Path(cdr.recording_path)
    assert recording.name == f"{cdr.call_uuid}.wav" and recording.stat().st_size > 44
