"""Call control from the desk and the wallboard, end to end through the simulator."""

import gevent
import pytest
from django.db import transaction

from cti.simulator.parties import SimulatedCaller
from telephony import models as m
from tests.cti.daemon.harness import wait_for
from tests.cti.daemon.test_inbound_path import add_supervisor, configure

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

DIDS = [{"number": "12329", "flow": "hotline", "language": "zh"}]


def connected_call(center, make_user, agents=2, **endpoint):
    """Two agents logged in; a caller talking to the first; returns what the test needs."""
    _queue, users, rows = configure(make_user, agents=agents, strategy="top_down")
    center.start(dids=DIDS, extensions=[a.extension for a in rows])
    phones = [
        center.simulator.add_endpoint(a.extension, answer_delay=0.5, **endpoint) for a in rows
    ]
    for user in users:
        assert center.command("login", user.id, ready=True).accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13800138000")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "bridged")
    return users, rows, phones, caller


def test_hold_and_resume_and_illegal_requests(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    reply = center.command("resume", users[0].id)
    assert not reply.accepted and reply.code == "illegal_state"
    assert center.command("hold", users[0].id).accepted
    # The agent's leg is held and the caller hears the music (FreeSWITCH plays it to the
    # held channel's partner: holding the caller's leg played it to the agent).
    agent_leg = phones[0].channels[-1]
    wait_for(lambda: agent_leg.held, 10, what="hold")
    wait_for(lambda: caller.channel.broadcast_greenlet is not None, 10, what="music")
    assert not caller.channel.held
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "held"
    assert center.command("resume", users[0].id).accepted
    wait_for(lambda: not agent_leg.held, 10, what="resume")
    wait_for(lambda: caller.channel.broadcast_greenlet is None, 10, what="music stops")
    # The second agent has no call: it cannot act on the first agent's.
    reply = center.command("hangup", users[1].id)
    assert not reply.accepted and reply.code == "no_call"
    # The agent holds again and hangs up: the caller goes on to the survey (the handler
    # failed on "held -> survey" and the caller was hung up without it).
    assert center.command("hold", users[0].id).accepted
    assert center.command("hangup", users[0].id).accepted
    center.wait_call_state(caller.uuid, "survey", 10)
    assert "Traceback" not in center.daemons[0].log(), center.logs()


def test_blind_transfer_to_another_agent(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("transfer", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(
        lambda: center.agent_status(rows[1].id) == "talking",
        20,
        what="agent 2 takes the transferred call\n" + center.logs(),
    )
    assert center.agent_status(rows[0].id) in ("wrap_up", "ready")
    assert not caller.hung_up.is_set()
    # The queue report has one entry, answered by the first agent: the transfer to a named
    # agent waited in no queue (its "answered" exit replaced that entry, with agent 2 and
    # the whole first talk counted as the wait).
    caller.hangup()
    wait_for(lambda: center.facts("call_ended"), 20, what="the CDR")
    (exit_,) = center.facts("queue_exited")
    assert (exit_["agent_id"], exit_["outcome"]) == (rows[0].id, "answered")
    assert exit_["wait_seconds"] < 3, exit_


def test_a_transfer_to_a_named_agent_who_does_not_answer_is_no_abandoned_call(center, make_user):
    """The caller who hangs up while the named agent's phone rings gave up on that agent,
    not on a queue: no 呼损 fact, no second queue exit."""
    users, rows, phones, caller = connected_call(center, make_user)
    phones[1].mode = "no_answer"
    assert center.command("transfer", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: center.agent_status(rows[1].id) == "offered", 20, what="agent 2 rings")
    caller.hangup()
    wait_for(lambda: center.facts("call_ended"), 20, what="the CDR")
    wait_for(lambda: center.agent_status(rows[1].id) == "ready", 10, what="agent 2 free")
    assert center.facts("call_abandoned") == []
    assert len(center.facts("queue_exited")) == 1
    assert center.redis.zcard("cc:queue:hotline:waiting") == 0


def test_a_transfer_while_the_phone_rings_is_refused_and_not_left_pending(center, make_user):
    """Refused: it failed half-way (an illegal transition after the transfer was noted), and
    the noted transfer took the caller away from the agent once the agent answered."""
    _queue, users, rows = configure(make_user, agents=2, strategy="top_down")
    center.start(dids=DIDS, extensions=[a.extension for a in rows])
    phone = center.simulator.add_endpoint(rows[0].extension, mode="no_answer")
    center.simulator.add_endpoint(rows[1].extension, answer_delay=0.3)
    for user in users:
        assert center.command("login", user.id, ready=True).accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13800138000")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "offered")
    reply = center.command("transfer", users[0].id, kind="queue", target="hotline")
    assert reply.code == "illegal_state", reply
    wait_for(lambda: phone.channels, 10, what="the phone rings")
    assert center.command("answer", users[0].id).accepted  # from the desk
    center.wait_call_state(caller.uuid, "bridged")
    gevent.sleep(0.5)
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "bridged"
    assert center.agent_status(rows[0].id) == "talking"
    assert "Traceback" not in center.daemons[0].log(), center.logs()


def test_a_transfer_to_an_agent_whose_phone_refuses_leaves_nothing_in_the_queue(center, make_user):
    """The caller hears "agent unavailable" and the call ends. The unanswered offer had left
    the call waiting in the agent's queue: after the call's end the freed agents were
    offered it again and again (the ACD tick recursed until Python stopped it)."""
    users, rows, phones, caller = connected_call(center, make_user)
    phones[1].mode = "reject"
    assert center.command("transfer", users[0].id, kind="agent", target=rows[1].id).accepted
    assert caller.wait_hangup(20)
    wait_for(lambda: center.facts("call_ended"), 20, what="the CDR")
    wait_for(
        lambda: all(center.agent_status(row.id) == "ready" for row in rows),
        10,
        what="both agents ready",
    )
    gevent.sleep(1.5)  # a few ACD ticks
    offers = [f for f in center.facts("agent_state_changed") if f["new"] == "offered"]
    assert len(offers) == 2, offers  # the call's first offer and the transfer's
    assert center.redis.zcard("cc:queue:hotline:waiting") == 0
    assert "Traceback" not in center.daemons[0].log(), center.logs()


def test_a_call_transferred_back_to_its_queue_can_reach_the_same_agent_again(center, make_user):
    """The one agent gets the call again after the wrap-up; when that talk ends the agent
    wraps up again (it stayed "talking" for good: the first wrap-up was taken for this one),
    and the call is recorded once, in one file (the second start failed on the simulator)."""
    users, rows, phones, caller = connected_call(center, make_user, agents=1)
    assert center.command("transfer", users[0].id, kind="queue", target="hotline").accepted

    def talks() -> list[dict]:
        return [f for f in center.facts("agent_state_changed") if f["new"] == "talking"]

    wait_for(lambda: len(talks()) == 2, 20, what="the same agent talks again")
    center.wait_call_state(caller.uuid, "bridged")
    assert center.command("hangup", users[0].id).accepted
    wait_for(
        lambda: center.agent_status(rows[0].id) in ("wrap_up", "ready"),
        10,
        what="the agent's second wrap-up\n" + center.logs(),
    )
    caller.hangup()
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 20, what="the CDR")
    assert cdr["agent_id"] == rows[0].id
    (recording,) = center.facts("recording_saved")
    assert recording["path"] == cdr["recording_path"]
    wraps = [f for f in center.facts("agent_state_changed") if f["new"] == "wrap_up"]
    assert len(talks()) == len(wraps) == 2
    assert "recording did not start" not in center.daemons[0].log(), center.logs()


def test_blind_transfer_to_an_outside_number(center, make_user):
    """Transferring while the number rings, bridged once it answers (it stayed
    "transferring" on FreeSWITCH 1.10.12); the caller's hang-up is the caller's, not the
    agent's who transferred."""
    users, rows, phones, caller = connected_call(center, make_user)
    outside = center.simulator.add_endpoint("13900139001", answer_delay=1.0)
    reply = center.command("transfer", users[0].id, kind="number", target="13900139001")
    assert reply.accepted, reply
    center.wait_call_state(caller.uuid, "transferring")
    center.wait_call_state(caller.uuid, "bridged")
    assert outside.channels[-1].answered
    wait_for(lambda: center.agent_status(rows[0].id) in ("wrap_up", "ready"), 10, what="wrap")
    # The live call no longer names the agent who transferred it (the wallboard showed it on
    # that agent's row, and counted the outside talk as theirs); the CDR still does.
    live = center.redis.hgetall(f"cc:live:call:{caller.uuid}")
    assert (live["agent_id"], live["agent_leg"]) == ("", ""), live
    caller.hangup()
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 20, what="CDR\n" + center.logs())
    assert cdr["hangup_by"] == "caller" and cdr["agent_id"] == rows[0].id


def test_a_blind_transfer_to_an_agent_who_is_not_free_is_refused(center, make_user):
    """Refused at once, the caller stays with the agent (accepted, the caller would have
    reached nobody but the "agent unavailable" prompt: seen on FreeSWITCH 1.10.12)."""
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("busy", users[1].id, reason="meal").accepted
    reply = center.command("transfer", users[0].id, kind="agent", target=rows[1].id)
    assert not reply.accepted and reply.code == "illegal_state", reply
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "bridged"
    assert center.agent_status(rows[0].id) == "talking" and not caller.hung_up.is_set()


def test_attended_transfer_complete(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("consult", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(
        lambda: phones[1].channels and phones[1].channels[-1].answered,
        20,
        what="the consulted agent answers\n" + center.logs(),
    )
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "transferring"
    assert center.agent_status(rows[1].id) == "busy"
    assert center.command("consult_complete", users[0].id).accepted
    center.wait_call_state(caller.uuid, "conference")
    # The first agent is done; the call is the consulted agent's now: talking on it, named
    # by the live call, and under its control (seen on FreeSWITCH 1.10.12: it had none).
    wait_for(lambda: center.agent_status(rows[0].id) in ("wrap_up", "ready"), 15, what="wrap")
    wait_for(lambda: center.agent_status(rows[1].id) == "talking", 15, what="taken over")
    live = f"cc:live:call:{caller.uuid}"
    wait_for(lambda: center.redis.hget(live, "agent_id") == str(rows[1].id), 5, what="named")
    assert center.redis.hget(f"cc:agent:{rows[1].id}", "call") == caller.uuid
    assert not center.command("hangup", users[0].id).accepted
    gevent.sleep(1.0)
    assert center.command("hangup", users[1].id).accepted
    wait_for(lambda: center.facts("call_ended"), 30, what="CDR\n" + center.logs())
    ended = center.facts("call_ended")[0]
    assert ended["agent_id"] == rows[1].id and ended["hangup_by"] == "agent"
    # Both agents' parts are talk: the consulted agent's second at least.
    assert ended["talk_seconds"] >= 1.0
    wait_for(lambda: center.agent_status(rows[1].id) == "ready", 15, what="consulted agent free")
    changes = [(c["agent_id"], c["new"]) for c in center.facts("agent_state_changed")]
    assert (rows[1].id, "talking") in changes and (rows[1].id, "wrap_up") in changes, changes


@pytest.mark.parametrize("who", ["agent", "consulted"])
def test_a_phone_hanging_up_mid_consultation_ends_it(center, make_user, who):
    """The agent's phone completes the transfer (as a desk phone's hang-up does), the
    consulted party's cancels it: the caller is not left alone with the music."""
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("consult", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: phones[1].channels and phones[1].channels[-1].answered, 20, what="answer")
    leaving, staying = (0, 1) if who == "agent" else (1, 0)
    center.simulator.hangup(phones[leaving].channels[-1].uuid)
    center.wait_call_state(caller.uuid, "conference")
    wait_for(lambda: center.agent_status(rows[staying].id) == "talking", 15, what="who stays")
    wait_for(lambda: center.agent_status(rows[leaving].id) != "talking", 15, what="who left")
    room = center.simulator.conferences.conferences[f"cc-{caller.uuid}"]
    wait_for(lambda: len(room.members) == 2, 10, what="the caller and who stays")
    live = f"cc:live:call:{caller.uuid}"
    wait_for(lambda: center.redis.hget(live, "agent_id") == str(rows[staying].id), 5, what="named")
    assert not caller.hung_up.is_set()


def test_attended_transfer_cancel_returns_to_the_agent(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("consult", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: phones[1].channels and phones[1].channels[-1].answered, 20, what="answer")
    assert center.command("consult_cancel", users[0].id).accepted
    wait_for(
        lambda: center.agent_status(rows[1].id) == "ready",
        20,
        what="the consulted agent is free again\n" + center.logs(),
    )
    center.wait_call_state(caller.uuid, "conference")
    assert center.agent_status(rows[0].id) == "talking"
    # Back with the caller in the room: the call can still be held (mod_conference's hold:
    # the caller hears the music, out of the mix), resumed, and held again.
    room = center.simulator.conferences.conferences[f"cc-{caller.uuid}"]
    wait_for(lambda: len(room.members) == 2, 10, what="caller and agent")
    member = next(m for m in room.members if m.channel.uuid == caller.uuid)
    assert center.command("hold", users[0].id).accepted
    assert member.held and member.hold_file == "local_stream://moh"
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "held"
    assert center.command("hold", users[0].id).code == "illegal_state"
    assert center.command("resume", users[0].id).accepted
    assert not member.held
    center.wait_call_state(caller.uuid, "conference")
    assert center.command("hold", users[0].id).accepted
    # The agent hangs up while the caller is held: the caller is not left in the room, and
    # goes on to the survey (the handler failed on "held -> survey").
    assert center.command("hangup", users[0].id).accepted
    wait_for(lambda: not room.members, 10, what="the room emptied")
    center.wait_call_state(caller.uuid, "survey", 10)
    caller.hangup()
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 30, what="the CDR")
    assert cdr["hangup_by"] == "agent", cdr
    assert "Traceback" not in center.daemons[0].log(), center.logs()


def test_consult_again_from_the_room_after_a_cancelled_consultation(center, make_user):
    """After a cancel the caller and the agent are in the room; a second consultation holds
    the caller there (refused before: seen on FreeSWITCH 1.10.12), cancel and complete
    take the caller off hold."""
    users, rows, phones, caller = connected_call(center, make_user, agents=3)
    room_name = f"cc-{caller.uuid}"

    def consult(target: int) -> None:
        assert center.command("consult", users[0].id, kind="agent", target=target).accepted
        wait_for(lambda: len(room.members) == 3, 20, what="the consulted party in the room")

    assert center.command("consult", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: phones[1].channels and phones[1].channels[-1].answered, 20, what="answer")
    assert center.command("consult_cancel", users[0].id).accepted
    center.wait_call_state(caller.uuid, "conference")
    room = center.simulator.conferences.conferences[room_name]
    wait_for(lambda: len(room.members) == 2, 10, what="caller and agent")
    member = next(m for m in room.members if m.channel.uuid == caller.uuid)
    wait_for(lambda: center.agent_status(rows[1].id) == "ready", 10, what="consulted free")
    consult(rows[1].id)
    assert member.held and center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == (
        "transferring"
    )
    assert center.command("consult_cancel", users[0].id).accepted
    center.wait_call_state(caller.uuid, "conference")
    assert not member.held and center.agent_status(rows[0].id) == "talking"
    wait_for(lambda: len(room.members) == 2, 10, what="the consulted party left")
    consult(rows[2].id)
    assert center.command("consult_complete", users[0].id).accepted
    wait_for(lambda: center.agent_status(rows[2].id) == "talking", 15, what="taken over")
    center.wait_call_state(caller.uuid, "conference")
    assert not member.held
    live = f"cc:live:call:{caller.uuid}"
    wait_for(lambda: center.redis.hget(live, "agent_id") == str(rows[2].id), 5, what="named")


def test_three_way_conference(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("conference", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: phones[1].channels and phones[1].channels[-1].answered, 20, what="answer")
    center.wait_call_state(caller.uuid, "conference")
    room = center.simulator.conferences.conferences[f"cc-{caller.uuid}"]
    wait_for(lambda: len(room.members) == 3, 10, what="three members")
    # The first agent leaves: the third party, an agent, has the call and ends it.
    assert center.command("hangup", users[0].id).accepted
    wait_for(lambda: center.agent_status(rows[1].id) == "talking", 15, what="taken over")
    wait_for(lambda: len(room.members) == 2, 10, what="two members")
    assert center.command("hangup", users[1].id).accepted
    wait_for(lambda: center.facts("call_ended"), 30, what="CDR\n" + center.logs())
    assert center.facts("call_ended")[0]["agent_id"] == rows[1].id
    wait_for(lambda: center.agent_status(rows[1].id) == "ready", 15, what="wrapped up")


def test_a_caller_hanging_up_during_a_consultation_hands_the_call_to_nobody(center, make_user):
    """Agent 2 took the call over from agent 1 and consults agent 1 in turn; the caller hangs
    up. The room empties: agent 2's leg ending there must not hand the ended call to agent 1
    (who stayed "talking" on it for good, and whose take-over wrote the live call back after
    its close)."""
    users, rows, phones, caller = connected_call(center, make_user)
    assert center.command("consult", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: phones[1].channels and phones[1].channels[-1].answered, 20, what="answer")
    assert center.command("consult_complete", users[0].id).accepted
    wait_for(lambda: center.agent_status(rows[1].id) == "talking", 15, what="taken over")
    wait_for(lambda: center.agent_status(rows[0].id) == "ready", 15, what="agent 1 free")
    assert center.command("consult", users[1].id, kind="agent", target=rows[0].id).accepted
    first_leg = center.redis.hget(f"cc:live:call:{caller.uuid}", "agent_leg")
    wait_for(
        lambda: [c for c in phones[0].channels if c.uuid != first_leg and c.answered],
        20,
        what="agent 1 answers",
    )
    caller.hangup()
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 30, what="CDR\n" + center.logs())
    assert (cdr["agent_id"], cdr["hangup_by"]) == (rows[1].id, "caller")
    wait_for(
        lambda: all(center.agent_status(row.id) == "ready" for row in rows),
        15,
        what="both agents ready\n" + center.logs(),
    )
    gevent.sleep(1)
    assert not center.redis.smembers("cc:live:calls")
    for row in rows:
        changes = [f["new"] for f in center.facts("agent_state_changed") if f["agent_id"] == row.id]
        assert changes[-1] == "ready", changes


def test_answer_from_the_desk(center, make_user):
    _queue, users, rows = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    phone = center.simulator.add_endpoint("1001", mode="no_answer")
    assert center.command("login", users[0].id, ready=True).accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13800138001")
    caller.dial("12329", context="public")
    wait_for(lambda: center.agent_status(rows[0].id) == "offered", 20, what="offer")
    wait_for(lambda: phone.channels, 10, what="ringing")
    assert center.command("answer", users[0].id).accepted
    wait_for(lambda: center.agent_status(rows[0].id) == "talking", 10, what="answered")


def test_click_to_dial_checks_the_outbound_blacklist(center, make_user):
    _queue, users, rows = configure(make_user, agents=1)
    with transaction.atomic():
        m.BlacklistEntry.objects.create(
            pattern="1390000", match="prefix", direction="out", reason="do not call"
        )
    center.start(dids=DIDS, extensions=["1001"])
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False, reason="rest").accepted
    wait_for(
        lambda: (
            center.redis.get("cc:config:version")
            and center.command("dial", users[0].id, number="13900001234").code == "blacklisted"
        ),
        10,
        what="blacklist",
    )
    reply = center.command("dial", users[0].id, number="13700001234")
    assert reply.accepted, reply
    wait_for(lambda: phone.channels, 10, what="the agent's phone rings first")


def test_click_to_dial_is_recorded_and_closed_with_its_cdr(center, make_user):
    """The agent is busy ("outbound") for the call, which is recorded from the agent's
    answer; at the end the CDR (answered when the customer was), the recording fact, and
    the agent ready again. A standby daemon sees the same events and leaves them alone."""
    _queue, users, rows = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"], daemons=2)
    center.simulator.add_endpoint("1001", answer_delay=0.3)
    customer = center.simulator.add_endpoint("13700001234", answer_delay=0.5, talk_time=1.5)
    assert center.command("login", users[0].id, ready=True).accepted
    call_uuid = center.dial(users[0].id, "13700001234")
    agent_key = f"cc:agent:{rows[0].id}"
    wait_for(lambda: center.redis.hget(agent_key, "reason") == "outbound", 10, what="busy")
    assert center.command("dial", users[0].id, number="13700009999").code == "illegal_state"
    wait_for(lambda: customer.channels, 10, what="the customer rings after the agent answers")
    # The wallboard's call list shows it: outbound, in conversation once the customer answers.
    live = f"cc:live:call:{call_uuid}"
    wait_for(lambda: center.redis.hget(live, "state") == "bridged", 10, what="live call")
    assert center.redis.hget(live, "direction") == "outbound"
    assert center.redis.hget(live, "destination") == "13700001234"
    cdr = wait_for(
        lambda: [f for f in center.facts("call_ended") if f["call_uuid"] == call_uuid],
        20,
        what="the CDR\n" + center.logs(),
    )[0]
    assert cdr["direction"] == "outbound" and cdr["callee"] == "13700001234"
    assert cdr["agent_id"] == rows[0].id and cdr["answered_at"] is not None
    assert cdr["hangup_by"] == "customer"  # its talk time ran out (it was empty before)
    # The customer sees the switch's outbound caller ID (none configured here), not its own
    # number or the agent's extension.
    profile = customer.channels[-1].caller_profile
    assert (profile.caller_id_number, profile.caller_id_name) == ("0000000000", "FreeSWITCH")
    assert cdr["recording_path"].endswith(f"/{call_uuid}.wav")
    started = [f for f in center.facts("call_started") if f["call_uuid"] == call_uuid]
    assert started and started[0]["direction"] == "outbound"
    recordings = [f for f in center.facts("recording_saved") if f["call_uuid"] == call_uuid]
    assert recordings and recordings[0]["size"] > 44, "the WAV has audio"
    wait_for(lambda: center.agent_status(rows[0].id) == "ready", 10, what="ready again")
    assert not center.redis.exists(live) and not center.redis.sismember("cc:live:calls", call_uuid)

    def legs() -> list[dict]:
        return [f for f in center.facts("leg_ended") if f["call_uuid"] == call_uuid]

    wait_for(lambda: len(legs()) >= 2, 10, what="the agent's and the customer's leg")
    gevent.sleep(1)  # a second daemon's copies would have arrived by now
    assert sorted(leg["party"] for leg in legs()) == ["agent", "external"]
    assert len(center.facts("call_ended")) == len(center.facts("recording_saved")) == 1
    by_party = {leg["party"]: leg for leg in legs()}
    assert by_party["agent"]["leg_uuid"] == call_uuid and by_party["agent"]["number"] == "1001"
    assert by_party["agent"]["agent_id"] == rows[0].id
    assert by_party["external"]["number"] == "13700001234"
    assert by_party["external"]["answered_at"] is not None


def test_a_dialled_call_can_be_listened_to_held_and_hung_up_from_the_desk(center, make_user):
    """A supervisor listens in on a call the agent dialled; the agent holds it, takes it
    back and ends it from the desk."""
    _queue, users, rows = configure(make_user, agents=1)
    supervisor = add_supervisor(make_user)
    company = {"OUTBOUND_CALLER_ID_NUMBER": "4008001234", "OUTBOUND_CALLER_ID_NAME": "客服 热线"}
    center.start(dids=DIDS, extensions=["1001", "9001"], env=company)
    agent_phone = center.simulator.add_endpoint("1001", answer_delay=0.3)
    boss_phone = center.simulator.add_endpoint("9001", answer_delay=0.2)
    customer = center.simulator.add_endpoint("13700001234", answer_delay=0.3, talk_time=60)
    assert center.command("login", users[0].id, ready=True).accepted
    assert center.command("hangup", users[0].id).code == "no_call"
    call_uuid = center.dial(users[0].id, "13700001234")
    wait_for(lambda: customer.channels and customer.channels[-1].answered, 10, what="talking")
    profile = customer.channels[-1].caller_profile  # the company's caller ID (a space dropped)
    assert (profile.caller_id_number, profile.caller_id_name) == ("4008001234", "客服热线")
    # On the call they dialled the agent stays busy "outbound": turned ready, the ACD offered
    # them inbound calls on top of it; logged out, they were still on the phone.
    for action in ("ready", "logout"):
        assert center.command(action, users[0].id).code == "illegal_state", action
    forced = center.command(
        "force_ready", supervisor.id, roles=("supervisor",), agent_id=rows[0].id
    )
    assert forced.code == "illegal_state"
    assert center.redis.hget(f"cc:agent:{rows[0].id}", "reason") == "outbound"
    listen = center.command("listen", supervisor.id, roles=("supervisor",), agent_id=rows[0].id)
    assert listen.accepted and listen.data["call_uuid"] == call_uuid
    wait_for(lambda: boss_phone.channels and boss_phone.channels[-1].answered, 10, what="listen")
    # A whisper reaches the agent alone (here the eavesdropped leg is the agent's own).
    whisper = center.command("whisper", supervisor.id, roles=("supervisor",), agent_id=rows[0].id)
    assert whisper.accepted
    wait_for(lambda: len(boss_phone.channels) == 2, 10, what="the whisper's call")
    hearers = center.simulator.switch.eavesdrop_hearers
    wait_for(lambda: hearers(boss_phone.channels[-1]), 10, what="whispering")
    assert hearers(boss_phone.channels[-1]) == [agent_phone.channels[-1]]
    assert hearers(boss_phone.channels[0]) == []  # the listener stays silent
    # Hold from the desk: the customer hears the music; a second hold is refused.
    assert center.command("hold", users[0].id).accepted
    assert agent_phone.channels[-1].held and not customer.channels[-1].held
    wait_for(lambda: customer.channels[-1].broadcast_greenlet is not None, 10, what="music")
    assert center.command("hold", users[0].id).code == "illegal_state"
    assert center.command("resume", users[0].id).accepted
    assert not agent_phone.channels[-1].held
    assert center.command("hangup", users[0].id).accepted
    cdr = wait_for(
        lambda: [f for f in center.facts("call_ended") if f["call_uuid"] == call_uuid],
        10,
        what="the CDR once the agent hung up",
    )[0]
    assert cdr["hangup_cause"] == "NORMAL_CLEARING" and cdr["answered_at"] is not None
    assert cdr["hangup_by"] == "agent"
    audit = [(f["action"], f["target_call_uuid"]) for f in center.facts("supervisor_action")]
    assert ("listen", call_uuid) in audit
    wait_for(lambda: center.agent_status(rows[0].id) == "ready", 10, what="ready again")


def test_click_to_dial_to_a_phone_that_is_not_registered(center, make_user):
    """The originate fails at once: an unanswered CDR, and the agent's busy reason back."""
    _queue, users, rows = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    assert center.command("login", users[0].id, ready=False, reason="rest").accepted
    call_uuid = center.dial(users[0].id, "13700001234")
    cdr = wait_for(
        lambda: [f for f in center.facts("call_ended") if f["call_uuid"] == call_uuid],
        20,
        what="the CDR\n" + center.logs(),
    )[0]
    assert cdr["answered_at"] is None and cdr["hangup_cause"] == "USER_NOT_REGISTERED"
    assert cdr["hangup_by"] == "system"
    wait_for(
        lambda: center.redis.hget(f"cc:agent:{rows[0].id}", "reason") == "rest",
        10,
        what="busy (rest) again",
    )


def test_supervisor_actions_are_limited_to_their_groups_and_audited(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    supervisor = make_user("boss", "supervisor")
    outsider = make_user("other", "supervisor")
    with transaction.atomic():
        m.AgentGroup.objects.get(name="热线").supervisors.add(supervisor)
        m.Agent.objects.create(
            employee_number="9001", name="班长", extension="9001", user=supervisor
        )
    boss = center.simulator.add_endpoint("9001", answer_delay=0.2)
    wait_for(
        lambda: (
            center.command("listen", outsider.id, roles=("supervisor",), agent_id=rows[0].id).code
            == "not_your_agent"
        ),
        10,
        what="outsider refused",
    )
    assert center.command("barge", users[1].id, agent_id=rows[0].id).code == "not_a_supervisor"
    reply = wait_for(
        lambda: (
            (
                r := center.command(
                    "barge", supervisor.id, roles=("supervisor",), agent_id=rows[0].id
                )
            ).accepted
            and r
        ),
        10,
        what="barge accepted",
    )
    assert reply.data["call_uuid"] == caller.uuid
    # Barge: the caller and the agent hear the supervisor; a whisper: the agent alone.
    hearers = center.simulator.switch.eavesdrop_hearers
    wait_for(lambda: boss.channels and hearers(boss.channels[-1]), 10, what="barging")
    assert set(hearers(boss.channels[-1])) == {caller.channel, phones[0].channels[-1]}
    assert center.command(
        "whisper", supervisor.id, roles=("supervisor",), agent_id=rows[0].id
    ).accepted
    wait_for(lambda: len(boss.channels) == 2 and hearers(boss.channels[-1]), 10, what="whisper")
    assert hearers(boss.channels[-1]) == [phones[0].channels[-1]]
    assert center.command(
        "force_busy", supervisor.id, roles=("supervisor",), agent_id=rows[1].id
    ).accepted
    assert center.agent_status(rows[1].id) == "busy"
    assert center.command(
        "force_hangup", supervisor.id, roles=("supervisor",), agent_id=rows[0].id
    ).accepted
    assert caller.wait_hangup(10)
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 10, what="the CDR")
    assert cdr["hangup_by"] == "supervisor"
    audit = [(f["action"], f["result"]) for f in center.facts("supervisor_action")]
    assert ("barge", "ok") in audit and ("busy", "ok") in audit and ("hangup", "ok") in audit


def test_a_supervisor_listening_in_leaves_when_the_agent_hangs_up(center, make_user):
    """The caller goes on to the survey without the supervisor (who stayed on it, seen on
    FreeSWITCH 1.10.12)."""
    users, rows, phones, caller = connected_call(center, make_user)
    supervisor = add_supervisor(make_user)
    boss = center.simulator.add_endpoint("9001", answer_delay=0.2)
    wait_for(
        lambda: (
            center.command(
                "listen", supervisor.id, roles=("supervisor",), agent_id=rows[0].id
            ).accepted
        ),
        10,
        what="listen accepted",
    )
    wait_for(lambda: boss.channels and boss.channels[-1].answered, 10, what="listening")
    center.simulator.hangup(phones[0].channels[-1].uuid)
    center.wait_call_state(caller.uuid, "survey")
    wait_for(lambda: boss.channels[-1].down, 10, what="the supervisor's leg ended")
    assert not caller.hung_up.is_set()


def test_a_listen_the_supervisor_does_not_take_is_audited_as_failed(center, make_user):
    """Audited with the originate's result, not when it was sent (it said "ok" while the
    supervisor's phone rang, seen on FreeSWITCH 1.10.12)."""
    users, rows, phones, caller = connected_call(center, make_user)
    supervisor = add_supervisor(make_user)
    center.simulator.add_endpoint("9001", mode="reject")
    wait_for(
        lambda: (
            center.command(
                "listen", supervisor.id, roles=("supervisor",), agent_id=rows[0].id
            ).accepted
        ),
        10,
        what="listen accepted",
    )
    (audit,) = wait_for(lambda: center.facts("supervisor_action"), 10, what="audited")
    assert (audit["action"], audit["result"]) == ("listen", "failed")
    assert "CALL_REJECTED" in audit["detail"]


def back_in_the_room_after_a_cancel(center, users, rows, phones, caller) -> None:
    """Agent 1 consults agent 2 and cancels: agent 1 and the caller talk in the room."""
    assert center.command("consult", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(lambda: phones[1].channels and phones[1].channels[-1].answered, 20, what="answer")
    assert center.command("consult_cancel", users[0].id).accepted
    center.wait_call_state(caller.uuid, "conference")
    wait_for(lambda: center.agent_status(rows[1].id) == "ready", 20, what="agent 2 free")


def test_a_caller_held_in_the_room_can_be_transferred_to_a_queue(center, make_user):
    """The handler failed on "conference -> queued": out of the room the held caller was
    first taken back to the conference state, then sent on by the transfer."""
    users, rows, phones, caller = connected_call(center, make_user)
    back_in_the_room_after_a_cancel(center, users, rows, phones, caller)
    assert center.command("hold", users[0].id).accepted
    assert center.command("transfer", users[0].id, kind="queue", target="hotline").accepted
    wait_for(
        lambda: center.agent_status(rows[1].id) == "talking",
        20,
        what="agent 2 gets the caller from the queue\n" + center.logs(),
    )
    assert not caller.hung_up.is_set()
    assert "Traceback" not in center.daemons[0].log(), center.logs()


def test_transfer_out_of_a_conference_and_a_second_call_for_the_same_agent(center, make_user):
    users, rows, phones, caller = connected_call(center, make_user)
    back_in_the_room_after_a_cancel(center, users, rows, phones, caller)
    # The agent hands the caller to agent 2 from the room.
    assert center.command("transfer", users[0].id, kind="agent", target=rows[1].id).accepted
    wait_for(
        lambda: center.agent_status(rows[1].id) == "talking",
        20,
        what="agent 2 takes the caller\n" + center.logs(),
    )
    # Agent 1 takes a new call while the first one goes on with agent 2.
    wait_for(lambda: center.agent_status(rows[0].id) == "ready", 20, what="agent 1 free")
    second = SimulatedCaller(center.simulator, caller_id_number="13800138009")
    second.dial("12329", context="public")
    wait_for(lambda: center.agent_status(rows[0].id) == "talking", 20, what="second call")
    assert center.command("hold", users[0].id).accepted
