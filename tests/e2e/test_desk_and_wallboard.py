"""A working day in Chromium: an agent takes a call from the simulator, a supervisor barges.

Real parts: the web tier (two uvicorn workers) serving the project, the CTI daemon process,
the switch simulator with the project's dialplan, PostgreSQL, Redis, Debian's Chromium.
"""

import pytest

from crm.records.models import ServiceRecord
from cti.simulator.parties import SimulatedCaller
from tests.cti.daemon.harness import wait_for
from tests.e2e.hotline import HOTLINE_DIDS, SCREENSHOTS, configure, desk_goes_ready, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]


def test_agent_takes_a_call_and_supervisor_barges(center, web, browser, make_user):
    from playwright.sync_api import expect

    agents, _boss = configure(make_user)
    center.start(dids=HOTLINE_DIDS, extensions=["1001", "1002", "1009"])
    sim = center.simulator
    sim.add_endpoint("1001", answer_delay=0.5)
    consulted_phone = sim.add_endpoint("1002", answer_delay=0.5)
    supervisor_phone = sim.add_endpoint("1009", answer_delay=0.5)
    anna = agents["1001"]

    desk_goes_ready(browser, center, web, "desk", anna)

    caller = SimulatedCaller(sim, caller_id_number="13800138000")
    caller.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(anna.pk) == "talking", 40, what="talking\n" + center.logs()
    )

    def screen_pop_shows_the_customer(state):
        page = state["desk"]
        expect(page.get_by_test_id("customer-name")).to_have_text("王小明", timeout=15000)
        expect(page.get_by_test_id("customer-owner")).to_contain_text("安娜")
        expect(page.get_by_test_id("pop-field")).to_have_text("M-778")
        expect(page.get_by_test_id("call-caller")).to_have_text("13800138000")
        expect(page.get_by_test_id("call-state")).to_have_text("通话中", timeout=15000)
        page.get_by_test_id("hold").click()
        expect(page.get_by_test_id("call-state")).to_have_text("保持中", timeout=10000)
        page.get_by_test_id("resume").click()
        expect(page.get_by_test_id("call-state")).to_have_text("通话中", timeout=10000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        replies = page.locator(".toast:not(.toast-call)")
        while replies.count():
            replies.first.click()  # a click closes a toast; the incoming call's stays
        page.screenshot(path=str(SCREENSHOTS / "desk.png"), full_page=True)
        # Attended transfer to a colleague who is not logged in: the daemon's refusal shows.
        page.get_by_test_id("transfer-kind").select_option("agent")
        page.get_by_test_id("transfer-target").select_option(str(agents["1002"].pk))
        page.get_by_test_id("transfer-consult").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text(
            "咨询转接: 当前状态下无法执行。", timeout=10000
        )
        expect(page.get_by_test_id("toast").last).to_contain_text("咨询转接")

    browser.run(screen_pop_shows_the_customer)
    assert center.command("login", agents["1002"].user_id, ready=True).accepted

    def agent_consults_a_colleague_and_returns_to_the_caller(state):
        page = state["desk"]
        page.get_by_test_id("transfer-consult").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("咨询转接: 已完成", timeout=10000)
        expect(page.get_by_test_id("consult-cancel")).to_be_visible(timeout=10000)
        page.get_by_test_id("consult-cancel").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("返回客户: 已完成", timeout=10000)
        # Back with the caller (the daemon keeps the pair in its conference room), where the
        # caller can still be held (it was refused there).
        expect(page.get_by_test_id("call-state")).to_have_text("会议通话中", timeout=15000)
        page.get_by_test_id("hold").click()
        expect(page.get_by_test_id("call-state")).to_have_text("保持中", timeout=10000)
        page.get_by_test_id("resume").click()
        expect(page.get_by_test_id("call-state")).to_have_text("会议通话中", timeout=10000)

    browser.run(agent_consults_a_colleague_and_returns_to_the_caller)
    assert consulted_phone.channels, "the consulted colleague's phone rang"

    def supervisor_sees_the_call_and_barges(state):
        page = sign_in(state, "board", "sue", web.url, "/wallboard/")
        row = page.locator(f"tr[data-agent='{anna.pk}']")
        expect(row.get_by_test_id("agent-state")).to_have_text("通话中", timeout=10000)
        expect(row.get_by_test_id("agent-call")).to_contain_text("13800138000")
        expect(page.get_by_test_id("agent-row")).to_have_count(2)
        expect(page.get_by_test_id("chart-states").locator("canvas")).to_have_count(1)
        page.get_by_test_id("supervisor-extension").fill("1009")
        row.locator("button[data-action=barge]").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("强插", timeout=10000)
        page.screenshot(path=str(SCREENSHOTS / "wallboard.png"), full_page=True)
        return page.get_by_test_id("last-reply").inner_text()

    barge_reply = browser.run(supervisor_sees_the_call_and_barges)
    assert "已完成" in barge_reply, barge_reply
    wait_for(lambda: supervisor_phone.channels, 10, what="the supervisor's phone rang")
    wait_for(lambda: center.facts("supervisor_action"), 10, what="barge audited")
    assert center.facts("supervisor_action")[0]["action"] == "barge"

    def agent_hangs_up_and_writes_the_record(state):
        page = state["desk"]
        page.get_by_test_id("hangup").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("挂断: 已完成", timeout=10000)
        expect(page.get_by_test_id("call-panel")).to_contain_text("没有通话", timeout=15000)
        page.get_by_test_id("category-1").select_option(label="公积金")
        expect(page.get_by_test_id("category-2").locator("option")).to_have_count(2)
        page.get_by_test_id("category-2").select_option(label="咨询")
        expect(page.get_by_test_id("category-3").locator("option")).to_have_count(2)
        page.get_by_test_id("category-3").select_option(label="余额查询")
        page.fill("#record-form textarea[name=description]", "查询公积金余额。")
        page.get_by_test_id("save-record").click()
        expect(page.get_by_test_id("record-saved")).to_be_visible(timeout=10000)
        page.get_by_test_id("ready").click()
        expect(page.get_by_test_id("agent-state")).to_have_text("示闲", timeout=10000)

    browser.run(agent_hangs_up_and_writes_the_record)
    record = ServiceRecord.objects.get()
    assert record.caller_number == "13800138000" and record.agent == anna
    assert record.customer is not None and record.customer.name == "王小明"
    assert record.call_uuid == caller.uuid

    second = SimulatedCaller(sim, caller_id_number="13800138000")
    second.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(anna.pk) == "talking", 40, what="second call\n" + center.logs()
    )

    def agent_transfers_the_caller_to_the_queue(state):
        page = state["desk"]
        expect(page.get_by_test_id("call-state")).to_have_text("通话中", timeout=15000)
        page.get_by_test_id("transfer-kind").select_option("queue")
        page.get_by_test_id("transfer-target").select_option("hotline")
        page.get_by_test_id("transfer-blind").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("盲转: 已完成", timeout=10000)
        expect(page.get_by_test_id("call-panel")).to_contain_text("没有通话", timeout=15000)

    browser.run(agent_transfers_the_caller_to_the_queue)
    second.hangup()


def test_agent_adds_a_colleague_to_a_three_way_call(center, web, browser, make_user):
    from playwright.sync_api import expect

    agents, _boss = configure(make_user)
    center.start(dids=HOTLINE_DIDS, extensions=["1001", "1002"])
    sim = center.simulator
    sim.add_endpoint("1001", answer_delay=0.5)
    colleague_phone = sim.add_endpoint("1002", answer_delay=0.5)
    anna, bob = agents["1001"], agents["1002"]

    desk_goes_ready(browser, center, web, "three-way", anna)
    caller = SimulatedCaller(sim, caller_id_number="13900139000")
    caller.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(anna.pk) == "talking", 40, what="talking\n" + center.logs()
    )
    # The colleague becomes available only now, so the call itself went to Anna.
    assert center.command("login", bob.user_id, ready=True).accepted

    def agent_adds_the_colleague(state):
        page = state["three-way"]
        expect(page.get_by_test_id("call-state")).to_have_text("通话中", timeout=15000)
        page.get_by_test_id("transfer-kind").select_option("agent")
        page.get_by_test_id("transfer-target").select_option(str(bob.pk))
        page.get_by_test_id("conference").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("三方通话: 已完成", timeout=10000)
        expect(page.get_by_test_id("call-state")).to_have_text("会议通话中", timeout=15000)

    browser.run(agent_adds_the_colleague)
    wait_for(lambda: colleague_phone.channels, 10, what="the colleague's phone rang")
    room = center.simulator.conferences.conferences[f"cc-{caller.uuid}"]
    wait_for(lambda: len(room.members) == 3, 15, what="three parties in the room")
    # The colleague is held out of the queues ("busy", consult) while in the three-way call.
    assert center.agent_status(bob.pk) == "busy" and center.agent_status(anna.pk) == "talking"

    def agent_leaves_and_the_colleague_takes_over(state):
        bob_desk = sign_in(state, "bob", bob.user.username, web.url, "/desk/")
        page = state["three-way"]
        page.get_by_test_id("hangup").click()
        expect(page.get_by_test_id("last-reply")).to_contain_text("挂断: 已完成", timeout=10000)
        expect(page.get_by_test_id("call-panel")).to_contain_text("没有通话", timeout=15000)
        # The call is the colleague's now (on FreeSWITCH 1.10.12 it had no control of it).
        expect(bob_desk.get_by_test_id("call-caller")).to_have_text("13900139000", timeout=15000)
        expect(bob_desk.get_by_test_id("call-state")).to_have_text("会议通话中")
        bob_desk.get_by_test_id("hangup").click()
        expect(bob_desk.get_by_test_id("last-reply")).to_contain_text("挂断: 已完成", timeout=10000)
        expect(bob_desk.get_by_test_id("call-panel")).to_contain_text("没有通话", timeout=15000)

    browser.run(agent_leaves_and_the_colleague_takes_over)
    center.wait_call_state(caller.uuid, "survey")

    def the_surveyed_call_is_nobodys_on_the_desks(state):
        # Its updates still name Bob, but the call left his seat (it came back before).
        for name in ("bob", "three-way"):
            expect(state[name].get_by_test_id("call-panel")).to_contain_text("没有通话")

    browser.run(the_surveyed_call_is_nobodys_on_the_desks)
    caller.hangup()  # during the survey
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 30, what="CDR\n" + center.logs())
    assert cdr["agent_id"] == bob.pk and cdr["hangup_by"] == "agent"
    assert center.agent_status(bob.pk) == "wrap_up"
