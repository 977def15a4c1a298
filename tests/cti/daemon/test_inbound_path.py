"""Inbound calls end to end: dialplan, daemon, queue, agent, recording, survey, facts."""

import time

import gevent
import pytest
from django.db import transaction

from cti.simulator.parties import SimulatedCaller
from telephony import models as m
from tests.cti.daemon.harness import wait_for
from tests.telephony.factories import AgentGroupFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


class SurveyCaller(SimulatedCaller):
    """Presses `score` when the survey prompt plays."""

    def __init__(self, *args, score: str = "1", **kwargs):
        super().__init__(*args, **kwargs)
        self.score = score

    def on_prompt(self, channel, path):
        super().on_prompt(channel, path)
        if "survey_intro.wav" in path and self.score:
            self.press(self.score)


def configure(make_user, agents=2, strategy="longest_idle", **queue_fields):
    with transaction.atomic():
        group = AgentGroupFactory(name="热线")
        queue = m.Queue.objects.create(
            code="hotline",
            name="热线",
            group=group,
            strategy=strategy,
            ring_timeout_seconds=5,
            announce_interval_seconds=10,
            **queue_fields,
        )
        users, agent_rows = [], []
        for index in range(agents):
            number = str(1001 + index)
            user = make_user(f"agent{number}", "agent")
            agent = m.Agent.objects.create(
                employee_number=number,
                name=f"坐席{number}",
                extension=number,
                user=user,
                wrap_up_seconds=1,
            )
            m.GroupMembership.objects.create(agent=agent, group=group, position=index + 1)
            users.append(user)
            agent_rows.append(agent)
        m.DID.objects.create(number="12329", flow="hotline")
    return queue, users, agent_rows


def add_supervisor(make_user):
    """A supervisor of the group ``configure`` made, with a phone at extension 9001."""
    supervisor = make_user("boss", "supervisor")
    with transaction.atomic():
        m.AgentGroup.objects.get(name="热线").supervisors.add(supervisor)
        m.Agent.objects.create(
            employee_number="9001", name="班长", extension="9001", user=supervisor
        )
    return supervisor


def test_call_reaches_a_ready_agent_is_recorded_and_surveyed(center, make_user):
    _queue, users, agents = configure(make_user)
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}],
        extensions=["1001", "1002"],
        daemons=2,  # a standby too: it must not write the facts a second time
    )
    sim = center.simulator
    phone = sim.add_endpoint("1001", answer_delay=1.0, talk_time=10.0)
    sim.add_endpoint("1002", answer_delay=1.0)
    reply = center.command("login", users[0].id, ready=True)
    assert reply.accepted, (reply, center.logs())
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", what="agent ready")

    caller = SurveyCaller(sim, caller_id_number="13800138000", score="2")
    caller.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(agents[0].id) == "talking",
        20,
        what="agent talking\n" + center.logs(),
    )
    assert phone.channels, "the agent's phone rang"
    # The agent hangs up first (talk_time): the caller hears the survey and presses 2.
    wait_for(lambda: center.facts("survey_scored"), 30, what="survey\n" + center.logs())
    assert caller.wait_hangup(30)
    wait_for(lambda: center.facts("call_ended"), 20, what="CDR")
    cdr = center.facts("call_ended")[0]
    assert cdr["caller"] == "13800138000" and cdr["agent_id"] == agents[0].id
    assert cdr["queue"] == "hotline" and cdr["hangup_by"] == "agent"
    # The talk with the agent (10 simulated seconds, 2 real ones at speed 0.2), not the time
    # from the daemon's answer (the queue, the announcement and the survey besides).
    assert 1.5 <= cdr["talk_seconds"] <= 5, cdr
    assert center.facts("survey_scored")[0]["score"] == 3  # key 2: satisfied
    recording = center.facts("recording_saved")[0]
    assert recording["path"].endswith(f"{cdr['call_uuid']}.wav")
    # The WAV is whole when its fact is written: its length is the talk's (10 s simulated).
    assert recording["size"] > 44 and 8 <= recording["duration"] <= 12, recording
    bridged = caller.events.index("CHANNEL_BRIDGE")
    unbridged = caller.events.index("CHANNEL_UNBRIDGE", bridged)
    # During the talk, not after it (an event-locked bridge would hold the broadcast back).
    assert "PLAYBACK_START" in caller.events[bridged:unbridged], "the agent's number is announced"
    # The recording is the conversation's: it stops before the survey's prompt plays.
    survey_prompt = caller.events.index("PLAYBACK_START", unbridged)
    assert "RECORD_STOP" in caller.events[unbridged:survey_prompt], caller.events[unbridged:]
    exits = center.facts("queue_exited")
    assert exits[0]["outcome"] == "answered" and exits[0]["agent_id"] == agents[0].id
    # After the wrap-up seconds the agent is ready again.
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", 15, what="wrap-up over")
    # The queue's average handle time (for estimated-wait announcements) learned the call.
    assert float(center.redis.get("cc:aht:hotline") or 0) > 0
    # One CDR per leg: the caller's and the agent's, with the switch's own times.
    wait_for(lambda: len(center.facts("leg_ended")) >= 2, 10, what="the legs' CDRs")
    gevent.sleep(1)  # the standby's copies, if it wrote any, would be here by now
    legs = center.facts("leg_ended")
    by_party = {leg["party"]: leg for leg in legs}
    assert set(by_party) == {"caller", "agent"} and len(legs) == 2
    assert by_party["caller"]["leg_uuid"] == cdr["call_uuid"] == by_party["agent"]["call_uuid"]
    assert by_party["caller"]["number"] == "13800138000"
    agent_leg = by_party["agent"]
    assert agent_leg["agent_id"] == agents[0].id and agent_leg["number"] == "1001"
    assert agent_leg["started_at"] <= agent_leg["answered_at"]
    assert agent_leg["answered_at"] - agent_leg["started_at"] >= 0.5, "it rang before the answer"


def test_no_answer_goes_to_the_next_agent(center, make_user):
    _queue, users, agents = configure(make_user, strategy="top_down")
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001", "1002"]
    )
    sim = center.simulator
    sim.add_endpoint("1001", mode="no_answer")
    second = sim.add_endpoint("1002", answer_delay=0.5)
    for user in users:
        assert center.command("login", user.id, ready=True).accepted
    caller = SimulatedCaller(sim, caller_id_number="13900139000")
    caller.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(agents[1].id) == "talking",
        30,
        what="second agent talking\n" + center.logs(),
    )
    assert second.channels
    states = [(f["agent_id"], f["new"], f["reason"]) for f in center.facts("agent_state_changed")]
    assert (agents[0].id, "offered", "") in states
    caller.hangup()
    wait_for(lambda: center.facts("call_ended"), 20, what="CDR")
    assert center.facts("call_ended")[0]["hangup_by"] == "caller"


def test_caller_who_hangs_up_in_the_queue_is_an_abandoned_call(center, make_user):
    _queue, users, agents = configure(make_user, agents=1, no_agent_rule="wait")
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001"]
    )
    sim = center.simulator
    sim.add_endpoint("1001")
    assert center.command("login", users[0].id, ready=False, reason="meal").accepted
    caller = SimulatedCaller(sim, caller_id_number="13700137000").hangup_after_answer(3)
    caller.dial("12329", context="public")
    wait_for(lambda: center.facts("call_abandoned"), 30, what="abandoned\n" + center.logs())
    abandoned = center.facts("call_abandoned")[0]
    assert abandoned["queue"] == "hotline" and abandoned["position"] == 1
    # Noticed at the hangup (about 1 s in), not at the next position announcement (10 s).
    assert 0 < abandoned["wait_seconds"] < 4, abandoned
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 20, what="CDR")
    assert cdr["talk_seconds"] == 0 and cdr["answered_at"] is not None  # no agent talked


def test_a_caller_who_hangs_up_while_the_agent_rings_is_not_offered_again(center, make_user):
    """The freed agent is offered the next caller at once: the one who hung up must have left
    the queue first (seen on FreeSWITCH 1.10.12: one phantom offer per cancelled ring)."""
    _queue, users, agents = configure(make_user, agents=1, no_agent_rule="wait")
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001"]
    )
    sim = center.simulator
    sim.add_endpoint("1001", answer_delay=30)
    assert center.command("login", users[0].id, ready=True).accepted
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", what="agent ready")
    caller = SimulatedCaller(sim, caller_id_number="13700137001")
    caller.dial("12329", context="public")
    wait_for(lambda: center.agent_status(agents[0].id) == "offered", 20, what="the phone rings")
    caller.hangup()
    wait_for(lambda: center.facts("call_ended"), 20, what="CDR\n" + center.logs())
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", 10, what="ready again")
    time.sleep(0.5)
    offers = [f for f in center.facts("agent_state_changed") if f["new"] == "offered"]
    assert len(offers) == 1, offers
    (abandoned,) = center.facts("call_abandoned")
    assert abandoned["call_uuid"] == caller.uuid
    # Leaving the queue released the agent: the close does not release it a second time
    # (it did, and failed with a traceback before the agent's part of the close).
    assert "Traceback" not in center.daemons[0].log(), center.logs()


def test_a_customer_with_an_owner_agent_reaches_that_agent_first(center, make_user):
    from crm.customers.services import create_customer

    _queue, users, agents = configure(make_user, strategy="top_down")
    with transaction.atomic():
        create_customer(name="王五", phones=["13600136000"], owner=agents[1], vip_level="gold")
    card = center.redis.hgetall("cc:customer:phone:13600136000")
    assert card["owner_agent_id"] == str(agents[1].id) and card["vip_level"] == "2"
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001", "1002"]
    )
    for extension in ("1001", "1002"):
        center.simulator.add_endpoint(extension, answer_delay=0.5)
    for user in users:
        assert center.command("login", user.id, ready=True).accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13600136000")
    caller.dial("12329", context="public")
    # top_down would pick 1001; the customer's owner 1002 is ready, so the call goes there.
    wait_for(
        lambda: center.agent_status(agents[1].id) == "talking",
        20,
        what="the owner agent takes the call\n" + center.logs(),
    )
    assert center.agent_status(agents[0].id) == "ready"


def test_a_callback_keeps_the_callers_place_and_is_dialled_by_the_next_agent(center, make_user):
    _queue, users, agents = configure(make_user, agents=1, no_agent_rule="wait", callback_key="2")
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001"]
    )
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    customer = center.simulator.add_endpoint("13500135000", answer_delay=0.5, talk_time=1.0)
    assert center.command("login", users[0].id, ready=False, reason="meal").accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13500135000")
    caller.press_after_answer(1.0, "2").dial("12329", context="public")
    assert caller.wait_hangup(20), "the caller hangs up after booking the callback"
    assert center.redis.exists(f"cc:callback:{caller.uuid}")
    assert center.facts("call_abandoned") == []
    # The agent comes back: the daemon rings the agent, then dials the customer.
    assert center.command("ready", users[0].id).accepted
    wait_for(
        lambda: center.agent_status(agents[0].id) == "talking",
        20,
        what="the callback\n" + center.logs(),
    )
    assert phone.channels and customer.channels
    exits = wait_for(
        lambda: [f for f in center.facts("queue_exited") if f["outcome"] == "callback"],
        10,
        what="the queue exit of the callback",
    )
    assert exits[0]["agent_id"] == agents[0].id
    # The customer hangs up: the callback's CDR, with its recording.
    cdr = wait_for(
        lambda: [f for f in center.facts("call_ended") if f["direction"] == "outbound"],
        20,
        what="the callback's CDR\n" + center.logs(),
    )[0]
    assert cdr["agent_id"] == agents[0].id and cdr["recording_path"].endswith(".wav")
    # Its start too (every call_ended had its call_started; the callback's had none).
    (start,) = [f for f in center.facts("call_started") if f["call_uuid"] == cdr["call_uuid"]]
    assert (start["direction"], start["callee"]) == ("outbound", "13500135000")
    recordings = [f for f in center.facts("recording_saved") if f["path"] == cdr["recording_path"]]
    assert recordings and recordings[0]["size"] > 44

    def callback_legs() -> list[dict] | None:
        found = [f for f in center.facts("leg_ended") if f["call_uuid"] == cdr["call_uuid"]]
        return found if len(found) == 2 else None

    legs = wait_for(callback_legs, 10, what="both legs of the callback")
    assert {leg["party"]: leg["number"] for leg in legs} == {
        "agent": "1001",
        "external": "13500135000",
    }


def test_with_no_agent_logged_in_the_call_overflows_at_once_to_an_outside_number(center, make_user):
    """The caller talks with the outside number; hanging up then is no abandoned call (it
    counted as one, with a second queue exit), and the CDR says who hung up."""
    configure(
        make_user,
        agents=1,
        no_agent_rule="overflow",
        overflow_kind="number",
        overflow_target="13900139000",
    )
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001"]
    )
    sim = center.simulator
    outside = sim.add_endpoint("13900139000", answer_delay=0.5)
    caller = SimulatedCaller(sim, caller_id_number="13700137002")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "bridged")
    assert outside.channels[-1].answered
    caller.hangup()
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 20, what="CDR\n" + center.logs())
    assert cdr["hangup_by"] == "caller" and cdr["agent_id"] is None
    gevent.sleep(0.5)
    assert center.facts("call_abandoned") == []
    (exit_,) = center.facts("queue_exited")
    assert (exit_["outcome"], exit_["overflow_target"]) == ("overflowed", "13900139000")
    # The outside party hangs up first: so says the CDR, and the caller is hung up at once.
    outside.talk_time = 1.0
    second = SimulatedCaller(sim, caller_id_number="13700137003")
    second.dial("12329", context="public")
    assert second.wait_hangup(20), "the caller is hung up after the outside party"
    wait_for(lambda: len(center.facts("call_ended")) == 2, 20, what="second CDR")
    assert center.facts("call_ended")[1]["hangup_by"] == "external"


def test_a_call_waiting_past_the_maximum_overflows_to_another_queue(center, make_user):
    queue, users, agents = configure(make_user, agents=1, no_agent_rule="wait")
    with transaction.atomic():
        backup = m.Queue.objects.create(code="backup", name="备用", group=queue.group)
        queue.max_wait_seconds = 2
        queue.overflow_kind = "queue"
        queue.overflow_queue = backup
        queue.save()
    center.start(
        dids=[{"number": "12329", "flow": "hotline", "language": "zh"}], extensions=["1001"]
    )
    center.simulator.add_endpoint("1001", answer_delay=0.3)
    assert center.command("login", users[0].id, ready=False, reason="meal").accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13700137004")
    caller.dial("12329", context="public")
    exits = wait_for(
        lambda: [f for f in center.facts("queue_exited") if f["queue"] == "hotline"],
        20,
        what="the overflow\n" + center.logs(),
    )
    assert (exits[0]["outcome"], exits[0]["overflow_target"]) == ("overflowed", "backup")
    assert 2 <= exits[0]["wait_seconds"] < 5, exits[0]
    # (The exit's fact is written before the call enters the next queue.)
    wait_for(
        lambda: center.redis.hget(f"cc:live:call:{caller.uuid}", "queue") == "backup",
        5,
        what="the call in the backup queue",
    )
    # The agent comes back and gets the caller from the backup queue.
    assert center.command("ready", users[0].id).accepted
    wait_for(lambda: center.agent_status(agents[0].id) == "talking", 20, what="answered")
    answered = wait_for(
        lambda: [f for f in center.facts("queue_exited") if f["queue"] == "backup"],
        10,
        what="the backup queue's exit",
    )
    assert answered[0]["outcome"] == "answered" and center.facts("call_abandoned") == []
