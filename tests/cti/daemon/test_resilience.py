"""Resilience: hot standby, a daemon restart mid-call, the failover group, a switch restart."""

import time

import gevent
import pytest

from cti.simulator.parties import SimulatedCaller
from cti.simulator.simulator import SwitchSimulator
from telephony import models as m
from tests.cti.daemon.harness import DaemonProcess, render_public_dialplan, wait_for
from tests.cti.daemon.test_inbound_path import SurveyCaller, add_supervisor, configure

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

DIDS = [{"number": "12329", "flow": "hotline", "language": "zh"}]


def start_replacement(center, old: DaemonProcess) -> DaemonProcess:
    """A new daemon in the place of ``old`` (its node name and socket port), as after a
    restart."""
    replacement = DaemonProcess(
        center.redis_url, center.simulator.port, old.socket_port, old.node, center.workdir
    )
    replacement.log_path = center.workdir / "replacement.log"
    center.daemons.append(replacement.start())
    return replacement


def queue_callers(center, *numbers: str) -> list[SimulatedCaller]:
    """Callers dialling the hotline one after the other, each waiting in its queue."""
    callers = []
    for number in numbers:
        caller = SimulatedCaller(center.simulator, caller_id_number=number)
        caller.dial("12329", context="public")
        center.wait_call_state(caller.uuid, "queued")
        callers.append(caller)
    return callers


def break_connection(center, caller: SimulatedCaller) -> None:
    """The switch's connection to the daemon for ``caller``'s call breaks (no goodbye)."""
    (connection,) = [
        listener
        for listener in center.simulator.outbound.listeners
        if listener.session is not None and listener.session.uuid == caller.uuid
    ]
    connection.close(goodbye=False)


def talking_call(center, user, agent, number: str) -> SimulatedCaller:
    """The agent logs in ready and takes a call from ``number``; the caller, once bridged."""
    assert center.command("login", user.id, ready=True).accepted
    caller = SimulatedCaller(center.simulator, caller_id_number=number)
    caller.dial("12329", context="public")
    wait_for(lambda: center.agent_status(agent.id) == "talking", 20, what="talking")
    center.wait_call_state(caller.uuid, "bridged", 10)
    return caller


def leader_and_standby(center) -> tuple[DaemonProcess, DaemonProcess]:
    """The leading daemon and the other, once the other runs (announced in cc:nodes)."""
    leader = center.leader()
    standby = next(d for d in center.daemons if d is not leader)
    wait_for(lambda: standby.node in center.redis.zrange("cc:nodes", 0, -1), what="the standby up")
    return leader, standby


def wait_taken_up(center, callers, leader, standby, entered: dict, timeout: float) -> None:
    """Each caller taken up by ``standby`` from ``leader``, waiting in its queue since it
    first entered it (``entered``: uuid -> queued_at), and never in the failover group."""
    for caller in callers:
        wait_for(
            lambda caller=caller: f"{caller.uuid}: taken over from {leader.node}" in standby.log(),
            timeout,
            what="the standby to take the caller up\n" + center.logs(),
        )
        center.wait_call_state(caller.uuid, "queued")
        assert center.redis.hget(f"cc:live:call:{caller.uuid}", "queued_at") == entered[caller.uuid]
        assert not caller.hung_up.is_set()
        assert caller.channel.variables.get("cc_failover") is None


def first_come_first_served(center, user, agent, callers) -> None:
    """Once both callers wait in the queue again, the agent turns ready and gets the first."""
    wait_for(lambda: center.redis.zcard("cc:queue:hotline:waiting") == 2, what="both queued")
    assert center.command("ready", user.id).accepted
    wait_for(lambda: center.agent_status(agent.id) == "talking", 20, what="answered")
    assert center.redis.hget(f"cc:agent:{agent.id}", "call") == callers[0].uuid


def test_standby_takes_over_within_five_seconds_and_takes_calls(center, make_user):
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"], daemons=2)
    center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=True).accepted
    leader = center.leader()
    standby = next(d for d in center.daemons if d is not leader)

    leader.kill()
    killed_at = time.monotonic()
    wait_for(
        lambda: center.redis.get("cc:leader") == standby.node,
        5,
        0.05,
        "the standby to take the lease\n" + center.logs(),
    )
    center.wait_listening(standby, timeout=max(0.1, 5 - (time.monotonic() - killed_at)))

    # The dialplan tries the dead leader's socket first, then the standby's.
    caller = SimulatedCaller(center.simulator, caller_id_number="13800000001")
    caller.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(agents[0].id) == "talking",
        20,
        what="the call through the standby\n" + center.logs(),
    )


@pytest.mark.parametrize("ending", ["kill", "stop"])
def test_a_call_in_conversation_survives_a_daemon_restart(center, make_user, ending):
    """Killed (SIGKILL) or stopped (SIGTERM, as for an upgrade): the conversation goes on and
    the next daemon closes it with a whole CDR and its recording."""
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    caller = talking_call(center, users[0], agents[0], "13800000002")

    old = center.daemons[0]
    getattr(old, ending)()
    assert not center.facts("call_ended"), "the stopping daemon closed a call still talking"
    replacement = start_replacement(center, old)
    wait_for(
        lambda: "adopted" in replacement.log() and "'adopted': 1" in replacement.log(),
        30,
        what="the new daemon to adopt the call\n" + center.logs(),
    )
    assert not caller.hung_up.is_set(), "the restart dropped the caller"

    # The agent ends the talk (from the desk, or the phone): the adopted call is closed with
    # its CDR, the agent wraps up.
    if ending == "stop":
        assert center.command("hangup", users[0].id).accepted
    else:
        phone.channels[-1].party = None
        center.simulator.hangup(phone.channels[-1].uuid)
    wait_for(lambda: center.facts("call_ended"), 20, what="CDR of the adopted call")
    cdr = center.facts("call_ended")[0]
    assert cdr["agent_id"] == agents[0].id and cdr["hangup_by"] == "agent"
    assert cdr["answered_at"] is not None, "an adopted conversation counts as answered"
    assert cdr["talk_seconds"] > 0, "the talk from the bridge, across the restart"
    assert cdr["recording_path"].endswith(f"/{caller.uuid}.wav")
    recordings = center.facts("recording_saved")
    assert [r["path"] for r in recordings] == [cdr["recording_path"]]
    assert recordings[0]["agent_id"] == agents[0].id
    assert caller.wait_hangup(10), "the caller is hung up after the talk, not sent to failover"
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", 15, what="agent ready again")


def test_the_desk_and_the_wallboard_keep_control_of_an_adopted_call(center, make_user):
    """After a restart the agent still holds and resumes from the desk and a supervisor
    listens in and hangs up (the adopted call has no handler: these were refused as "no call
    on this seat"); a transfer, which needs the caller's socket, is refused with its reason."""
    _queue, users, agents = configure(make_user, agents=1)
    supervisor = add_supervisor(make_user)
    center.start(dids=DIDS, extensions=["1001", "9001"])
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    boss = center.simulator.add_endpoint("9001", answer_delay=0.2)
    caller = talking_call(center, users[0], agents[0], "13800000004")
    old = center.daemons[0]
    old.kill()
    replacement = start_replacement(center, old)
    wait_for(
        lambda: "'adopted': 1" in replacement.log(),
        30,
        what="the new daemon to adopt the call\n" + center.logs(),
    )
    agent_leg = phone.channels[-1]

    assert center.command("hold", users[0].id).accepted
    wait_for(lambda: agent_leg.held, 10, what="hold")
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "held"
    assert center.command("hold", users[0].id).code == "illegal_state"
    assert center.command("resume", users[0].id).accepted
    wait_for(lambda: not agent_leg.held, 10, what="resume")
    assert center.redis.hget(f"cc:live:call:{caller.uuid}", "state") == "bridged"
    refused = center.command("transfer", users[0].id, kind="queue", target="hotline")
    assert refused.code == "adopted_call", refused

    supervise = {"user_id": supervisor.id, "roles": ("supervisor",), "agent_id": agents[0].id}
    listen = center.command("listen", **supervise)
    assert listen.accepted and listen.data["call_uuid"] == caller.uuid
    wait_for(lambda: boss.channels and boss.channels[-1].answered, 10, what="listening")
    assert boss.channels[-1].eavesdrop_target is caller.channel
    assert center.command("force_hangup", **supervise).accepted
    assert caller.wait_hangup(10)
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 20, what="the CDR")
    assert (cdr["agent_id"], cdr["hangup_by"]) == (agents[0].id, "supervisor")
    audit = [(f["action"], f["result"]) for f in center.facts("supervisor_action")]
    assert ("listen", "ok") in audit and ("hangup", "ok") in audit
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", 15, what="agent ready again")
    assert center.command("hangup", users[0].id).code == "no_call"


@pytest.mark.parametrize("ending", ["stop", "kill"])
def test_a_queued_caller_whose_daemon_ends_is_handed_to_the_ring_group_not_abandoned(
    center, make_user, ending
):
    """SIGTERM or SIGKILL with a caller waiting: the socket closes and the switch rings the
    failover group. The call is recorded as handed over (CDR and queue exit say "failover"),
    not as a caller who gave up (no 呼损 fact): by the stopping daemon itself, or by the
    next one's recovery after a kill."""
    _queue, users, _agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    ring_group = center.simulator.add_endpoint("1001", answer_delay=0.5)
    # Logged in but busy: the caller waits in the queue.
    assert center.command("login", users[0].id, ready=False).accepted
    caller = SimulatedCaller(center.simulator, caller_id_number="13800000003")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "queued")

    old = center.daemons[0]
    getattr(old, ending)()
    if ending == "kill":
        start_replacement(center, old)
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 30, what="the CDR\n" + center.logs())
    assert cdr["hangup_by"] == "failover" and cdr["queue"] == "hotline"
    (exit_,) = center.facts("queue_exited")
    assert (exit_["outcome"], exit_["overflow_target"]) == ("overflowed", "failover")
    assert not center.facts("call_abandoned")
    # (The same pipeline as the CDR, which is not atomic: a reader may come in between.)
    wait_for(lambda: not center.redis.sismember("cc:live:calls", caller.uuid), 5)
    # The caller was not dropped: the failover group rings.
    wait_for(lambda: ring_group.channels, 10, what="the ring group to ring")
    assert not caller.hung_up.is_set()
    # The group's phone answers, then hangs up: the call ends there. The daemon had set
    # hangup_after_bridge=false; kept, the dialplan would go on to the closed prompt.
    wait_for(lambda: "CHANNEL_BRIDGE" in caller.events, 10, what="the group to answer")
    center.simulator.hangup(ring_group.channels[-1].uuid)
    assert caller.wait_hangup(10)
    after_talk = caller.events[caller.events.index("CHANNEL_UNBRIDGE") :]
    assert "CHANNEL_EXECUTE" not in after_talk, after_talk  # no answer, no playback


def test_a_stopping_leader_hands_its_queued_callers_to_the_standby_in_their_places(
    center, make_user
):
    """SIGTERM with a standby running (a planned restart): the waiting callers are not sent to
    the failover ring group but to the standby, which keeps them in the queue in the order
    they came, with no second call_started or queue_entered fact."""
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"], daemons=2)
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    callers = queue_callers(center, "13800000011", "13800000012")
    live = [center.redis.hgetall(f"cc:live:call:{c.uuid}") for c in callers]
    entered = {record["uuid"]: record["queued_at"] for record in live}
    started = {record["uuid"]: float(record["started_at"]) for record in live}
    leader, standby = leader_and_standby(center)

    leader.stop()
    assert "handed over to " + standby.node in leader.log(), center.logs()
    wait_taken_up(center, callers, leader, standby, entered, 10)
    assert not phone.channels, "a caller reached the failover ring group"
    assert not center.facts("queue_exited") and not center.facts("call_ended")

    # The first to come is the first served, by the new leader (once both wait again).
    first_come_first_served(center, users[0], agents[0], callers)
    assert sorted(f["call_uuid"] for f in center.facts("call_started")) == sorted(entered)
    assert sorted(f["call_uuid"] for f in center.facts("queue_entered")) == sorted(entered)
    (exit_,) = wait_for(lambda: center.facts("queue_exited"), 10, what="the queue exit")
    assert (exit_["call_uuid"], exit_["outcome"]) == (callers[0].uuid, "answered")
    for caller in callers:
        caller.hangup()
    cdrs = wait_for(
        lambda: len(center.facts("call_ended")) == 2 and center.facts("call_ended"), 20, what="CDRs"
    )
    assert {cdr["node"] for cdr in cdrs} == {standby.node}
    assert not any(cdr["hangup_by"] == "failover" for cdr in cdrs)
    for cdr in cdrs:
        assert cdr["started_at"] == pytest.approx(started[cdr["call_uuid"]])


def test_a_caller_whose_agent_rings_when_the_leader_stops_is_offered_again_by_the_standby(
    center, make_user
):
    _queue, users, agents = configure(make_user, agents=1)
    queue = m.Queue.objects.get(code="hotline")
    queue.ring_timeout_seconds = 120
    queue.save()
    center.start(dids=DIDS, extensions=["1001"], daemons=2)
    phone = center.simulator.add_endpoint("1001", mode="no_answer")
    assert center.command("login", users[0].id, ready=True).accepted
    leader, standby = leader_and_standby(center)
    wait_for(lambda: center.redis.get("cc:config:version"), what="the configuration")
    caller = SimulatedCaller(center.simulator, caller_id_number="13800000015")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "offered")
    wait_for(lambda: phone.channels, what="the agent's phone to ring")
    first_ring = phone.channels[0]

    leader.stop()
    assert "1 calls handed over to " + standby.node in leader.log(), center.logs()
    assert first_ring.down, "the first ring did not stop"
    # The standby queues the call again and offers it to the agent, free again.
    wait_for(
        lambda: phone.channels[-1] is not first_ring and phone.channels[-1].up,
        20,
        what="the standby to ring the agent again\n" + center.logs(),
    )
    assert f"{caller.uuid}: taken over from {leader.node}" in standby.log()
    assert center.agent_status(agents[0].id) == "offered"
    assert center.redis.hget(f"cc:agent:{agents[0].id}", "call") == caller.uuid
    assert not caller.hung_up.is_set() and caller.channel.variables.get("cc_failover") is None
    assert not center.facts("queue_exited") and not center.facts("call_ended")
    assert len(center.facts("queue_entered")) == 1


def menu_before_the_queue(make_user):
    """The hotline's DID runs a menu (3 tries, 30 s each) whose 0 leads to the queue."""
    from ivr.services import save_flow_version
    from ivr.snapshot import publish_flow_snapshot

    configured = configure(make_user, agents=1)
    menu = {"type": "menu", "prompts": ["main_menu"], "invalid_prompts": ["main_menu"]}
    save_flow_version(
        {
            "format": 1,
            "code": "handover_menu",
            "name": "handover menu",
            "start": "menu",
            "nodes": {
                "menu": {
                    **menu,
                    "tries": 3,
                    "timeout": 30,
                    "options": {"0": "agent"},
                    "failure": "failed",
                },
                "agent": {"type": "queue", "queue": "hotline"},
                "failed": {"type": "hangup", "prompts": ["main_menu"], "reason": "failed"},
            },
        }
    )
    publish_flow_snapshot()
    did = m.DID.objects.get(number="12329")
    did.flow = "handover_menu"
    did.save()
    return configured


def test_a_caller_in_the_ivr_when_the_leader_stops_hears_the_menu_again_from_the_standby(
    center, make_user
):
    _queue, users, agents = menu_before_the_queue(make_user)
    center.start(dids=DIDS, extensions=["1001"], daemons=2)
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=True).accepted
    leader, standby = leader_and_standby(center)
    caller = SimulatedCaller(center.simulator, caller_id_number="13800000013")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "ivr")

    leader.stop()
    assert "1 calls handed over to " + standby.node in leader.log(), center.logs()
    # The new leader plays the menu again; the caller chooses an agent there.
    caller.when(lambda: caller.press("0"), prompt="main_menu", delay=0.2)
    wait_for(
        lambda: center.agent_status(agents[0].id) == "talking",
        20,
        what="the caller to reach the agent through the standby\n" + center.logs(),
    )
    assert center.redis.hget(f"cc:agent:{agents[0].id}", "call") == caller.uuid
    assert phone.channels and not caller.hung_up.is_set()
    assert len(center.facts("call_started")) == 1


def test_a_caller_in_a_menu_whose_leader_dies_is_pulled_to_the_standby_at_once(center, make_user):
    """SIGKILL while the caller is in an IVR menu (3 tries of 30 s: 18 s here). The switch
    would end the dead socket's control only when the menu ends; the standby pulls the
    caller (uuid_transfer to the DID) as soon as it leads, and plays the menu again."""
    _queue, users, agents = menu_before_the_queue(make_user)
    center.start(
        dids=DIDS, extensions=["1001"], daemons=2, rejoin_pauses_ms=[10_000, 10_000, 10_000]
    )
    center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=True).accepted
    leader, standby = leader_and_standby(center)
    caller = SimulatedCaller(center.simulator, caller_id_number="13800000014")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "ivr")
    wait_for(lambda: "main_menu" in " ".join(caller.prompts), what="the menu")

    leader.kill()
    wait_for(
        lambda: f"{caller.uuid}: taken over from {leader.node}" in standby.log(),
        10,
        what="the standby to pull the caller\n" + center.logs(),
    )
    assert "pulled 1 of 1 rejoining calls" in standby.log()
    caller.when(lambda: caller.press("0"), prompt="main_menu", delay=0.2)
    wait_for(
        lambda: center.agent_status(agents[0].id) == "talking",
        20,
        what="the caller to reach the agent through the standby\n" + center.logs(),
    )
    assert len(center.facts("call_started")) == 1


def test_a_caller_in_the_survey_when_the_daemon_stops_is_hung_up_not_sent_to_the_ring_group(
    center, make_user
):
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5, talk_time=1.0)
    assert center.command("login", users[0].id, ready=True).accepted
    # Served, then silent in the survey (the agent hangs up first).
    caller = SurveyCaller(center.simulator, caller_id_number="13800000014", score="")
    caller.dial("12329", context="public")
    center.wait_call_state(caller.uuid, "survey", 30)
    rings = len(phone.channels)

    center.daemons[0].stop()
    assert caller.wait_hangup(10), "the served caller was not hung up\n" + center.logs()
    # The switch ran no failover action for the caller (nor rang the group).
    assert caller.channel.variables.get("cc_failover") is None
    assert len(phone.channels) == rings
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 10, what="the CDR")
    assert (cdr["hangup_by"], cdr["agent_id"]) == ("system", agents[0].id)


def test_queued_callers_of_a_leader_that_dies_rejoin_the_standby_in_their_places(center, make_user):
    """SIGKILL with a standby running: the dialplan tries the sockets again after pauses
    (here 2, 2 and 2 s of real time), the standby takes over meanwhile and takes the
    callers up where they were, instead of the failover ring group."""
    _queue, users, agents = configure(make_user, agents=1)
    center.start(
        dids=DIDS, extensions=["1001"], daemons=2, rejoin_pauses_ms=[10_000, 10_000, 10_000]
    )
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    callers = queue_callers(center, "13800000021", "13800000022")
    entered = {c.uuid: center.redis.hget(f"cc:live:call:{c.uuid}", "queued_at") for c in callers}
    leader, standby = leader_and_standby(center)

    leader.kill()
    wait_taken_up(center, callers, leader, standby, entered, 15)
    assert not phone.channels and not center.facts("queue_exited")

    first_come_first_served(center, users[0], agents[0], callers)
    assert len(center.facts("call_started")) == 2 and len(center.facts("queue_entered")) == 2


def test_a_caller_in_endless_music_whose_leader_dies_reaches_the_standby(center, make_user):
    """The queue's music is an endless stream: the switch ends a dead daemon's control of the
    call only between applications, so the daemon plays it in 20 s pieces (4 s here), and
    the caller reaches the sockets' next tries, and the standby, after the piece."""
    _queue, users, _agents = configure(make_user, agents=1, music_on_hold="local_stream://moh")
    center.start(
        dids=DIDS, extensions=["1001"], daemons=2, rejoin_pauses_ms=[10_000, 10_000, 10_000]
    )
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    callers = queue_callers(center, "13800000023")
    entered = {c.uuid: center.redis.hget(f"cc:live:call:{c.uuid}", "queued_at") for c in callers}
    wait_for(lambda: "PLAYBACK_START" in callers[0].events, what="the music")
    leader, standby = leader_and_standby(center)

    leader.kill()
    wait_taken_up(center, callers, leader, standby, entered, 20)
    assert not phone.channels and not center.facts("queue_exited")


def test_a_single_daemon_restarted_in_time_keeps_its_queued_callers_in_their_places(
    center, make_user
):
    """SIGTERM with no standby (a restart of the only daemon): the queued callers are marked
    and let go without being closed; the dialplan tries the socket again after its pauses
    (here 2, 2 and 3 s of real time), the restarted daemon takes each caller up where it was:
    no failover, no CDR or queue exit from the stopping daemon, no second call_started."""
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"], rejoin_pauses_ms=[10_000, 10_000, 15_000])
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    callers = queue_callers(center, "13800000031", "13800000032")
    entered = {c.uuid: center.redis.hget(f"cc:live:call:{c.uuid}", "queued_at") for c in callers}

    old = center.daemons[0]
    old.stop()
    assert "2 callers try the sockets again" in old.log(), center.logs()
    assert not center.facts("call_ended") and not center.facts("queue_exited")
    replacement = start_replacement(center, old)
    wait_taken_up(center, callers, old, replacement, entered, 20)
    assert not phone.channels, "a caller reached the failover ring group"

    first_come_first_served(center, users[0], agents[0], callers)
    assert len(center.facts("call_started")) == 2 and len(center.facts("queue_entered")) == 2
    assert not center.facts("call_ended") and not center.facts("queue_exited")[1:]


def test_a_caller_let_go_by_a_single_daemon_that_stays_down_is_closed_by_the_next(
    center, make_user
):
    """The only daemon stops and none starts before the dialplan's tries run out: the caller
    reaches the failover ring group, and the daemon that starts later closes the call from its
    live record as handed to the failover group (not abandoned)."""
    _queue, users, _agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"], rejoin_pauses_ms=[1_000, 1_000, 1_000])
    ring_group = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    (caller,) = queue_callers(center, "13800000033")

    old = center.daemons[0]
    old.stop()
    stopped = time.time()
    wait_for(lambda: ring_group.channels, 15, what="the ring group to ring\n" + center.logs())
    assert not center.facts("call_ended"), "the stopping daemon closed a call it let go of"
    time.sleep(1)
    start_replacement(center, old)
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 30, what="the CDR\n" + center.logs())
    assert cdr["hangup_by"] == "failover" and cdr["call_uuid"] == caller.uuid
    (exit_,) = center.facts("queue_exited")
    assert (exit_["outcome"], exit_["overflow_target"]) == ("overflowed", "failover")
    # It left the queue when its daemon let go of it, not when the next one started.
    assert exit_["entered_at"] + exit_["wait_seconds"] <= stopped, (exit_, stopped)
    assert not center.facts("call_abandoned")
    assert not caller.hung_up.is_set()


def test_a_queued_caller_whose_socket_drops_rejoins_the_running_daemon_in_its_place(
    center, make_user
):
    """The connection between the switch and the daemon breaks for one call (a network
    fault) while the daemon runs on: the socket application returns, the dialplan tries the
    socket again after its pause, and the same daemon takes the caller up where it was: no
    呼损 abandon, no CDR, no second call_started, and the caller keeps its place."""
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"], rejoin_pauses_ms=[5_000, 5_000, 5_000])
    phone = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    callers = queue_callers(center, "13800000041", "13800000042")
    entered = {c.uuid: center.redis.hget(f"cc:live:call:{c.uuid}", "queued_at") for c in callers}

    break_connection(center, callers[0])
    daemon = center.daemons[0]
    wait_taken_up(center, callers[:1], daemon, daemon, entered, 15)
    assert not phone.channels, "the caller reached the failover ring group"
    assert not center.facts("call_abandoned") and not center.facts("queue_exited")
    assert not center.facts("call_ended")

    first_come_first_served(center, users[0], agents[0], callers)
    assert len(center.facts("call_started")) == 2 and len(center.facts("queue_entered")) == 2


def test_a_queued_caller_whose_socket_drops_with_no_retry_is_closed_as_failover(center, make_user):
    """The same break with a dialplan that does not try the sockets again: the caller goes
    to the failover ring group, and the daemon says so (not a 呼损 abandon)."""
    _queue, users, _agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    ring_group = center.simulator.add_endpoint("1001", answer_delay=0.5)
    assert center.command("login", users[0].id, ready=False).accepted
    (caller,) = queue_callers(center, "13800000043")

    break_connection(center, caller)
    (cdr,) = wait_for(lambda: center.facts("call_ended"), 15, what="the CDR\n" + center.logs())
    assert cdr["hangup_by"] == "failover"
    (exit_,) = center.facts("queue_exited")
    assert (exit_["outcome"], exit_["overflow_target"]) == ("overflowed", "failover")
    assert not center.facts("call_abandoned")
    wait_for(lambda: ring_group.channels, 10, what="the ring group to ring")

    # The group answers, the caller talks and hangs up: the switch's record of the call,
    # read by the running daemon at once, completes the CDR with the real end.
    wait_for(lambda: "CHANNEL_BRIDGE" in caller.events, 10, what="the group to answer")
    caller.hangup()
    (ended,) = wait_for(
        lambda: center.facts("failover_ended"), 15, what="the switch's record\n" + center.logs()
    )
    assert ended["call_uuid"] == caller.uuid and ended["callee"] == "12329"
    assert ended["caller"] == "13800000043" and ended["hangup_cause"] == "NORMAL_CLEARING"
    assert ended["started_at"] < ended["answered_at"]  # the switch's own clock
    assert ended["talk_seconds"] > 0, "the talk with the ring group"
    kinds = [entry["kind"] for _id, entry in center.redis.xrange("cc:facts")]
    assert kinds.index("failover_ended") > kinds.index("call_ended")  # corrects, not undone
    assert center.simulator.api.execute("db", "list/cc_failover")[1] == ""


def test_a_call_that_reached_the_ring_group_while_no_daemon_ran_gets_its_cdr_from_the_next(
    center, make_user
):
    """No daemon runs: the caller reaches the failover ring group, talks and hangs up. The
    switch keeps the call's record, and the next daemon to start writes its CDR from it."""
    configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    center.simulator.add_endpoint("1001", answer_delay=0.5)
    old = center.daemons[0]
    old.stop()

    caller = SimulatedCaller(center.simulator, caller_id_number="13800000051")
    caller.dial("12329", context="public")
    wait_for(lambda: "CHANNEL_BRIDGE" in caller.events, 15, what="the ring group to answer")
    caller.hangup()
    assert caller.wait_destroyed(10)
    assert not center.facts("failover_ended") and not center.facts("call_started")

    start_replacement(center, old)
    (ended,) = wait_for(
        lambda: center.facts("failover_ended"), 30, what="the CDR\n" + center.logs()
    )
    assert (ended["call_uuid"], ended["caller"], ended["callee"]) == (
        caller.uuid, "13800000051", "12329",
    )  # fmt: skip
    assert ended["started_at"] < ended["answered_at"] and ended["talk_seconds"] > 0
    (entry,) = [e for _id, e in center.redis.xrange("cc:facts") if e["kind"] == "failover_ended"]
    assert float(entry["at"]) >= ended["answered_at"]
    assert not center.facts("call_ended"), "no daemon knew the call: the switch's record is all"
    wait_for(
        lambda: center.simulator.api.execute("db", "list/cc_failover")[1] == "",
        10,
        what="the record deleted once written",
    )


@pytest.mark.parametrize("pauses", [[], [1000, 2000, 3000]], ids=["at-once", "after-retries"])
def test_calls_reach_the_ring_group_when_no_daemon_answers(tmp_path, pauses):
    # A port nobody listens on stands for a dead daemon. With the production dialplan's
    # pauses the sockets are tried again first (6 simulated seconds, 1.2 s here).
    dialplan = render_public_dialplan(1, DIDS, ["1001", "1002"], rejoin_pauses_ms=pauses)
    simulator = SwitchSimulator(port=0, dialplan_xml=dialplan, speed=0.2).start()
    try:
        first = simulator.add_endpoint("1001", mode="no_answer")
        second = simulator.add_endpoint("1002", answer_delay=0.5)
        caller = SimulatedCaller(simulator, caller_id_number="13800000003")
        caller.dial("12329", context="public")
        wait_for(lambda: "CHANNEL_BRIDGE" in caller.events, 20, what="the ring group")
        assert first.channels and second.channels, "both extensions of the group rang"
    finally:
        simulator.stop()


def test_daemon_reconnects_after_a_switch_restart(center, make_user):
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    daemon = center.daemons[0]
    wait_for(lambda: "recovery: {" in daemon.log(), 10, what="the start's resync")
    gevent.sleep(0.5)
    # Once at start, whichever comes first, the election or the connection to the switch.
    assert daemon.log().count("recovery: {") == 1, daemon.log()
    port = center.simulator.port
    dialplan = center.simulator.dialplan
    center.simulator.stop()
    restarted = SwitchSimulator(port=port, speed=0.2)
    restarted.dialplan = dialplan
    restarted.switch.dialplan = dialplan
    center.simulator = restarted.start()
    center.simulator.add_endpoint("1001", answer_delay=0.5)
    # Commands need the switch (the login asks whether the phone is registered).
    wait_for(
        lambda: "ESL connected" in center.daemons[0].log().split("lost")[-1],
        30,
        what="reconnection\n" + center.logs(),
    )
    assert center.command("login", users[0].id, ready=True).accepted
    wait_for(lambda: daemon.log().count("recovery: {") == 2, 10, what="the reconnection's resync")
    caller = SimulatedCaller(center.simulator, caller_id_number="13800000004")
    caller.dial("12329", context="public")
    wait_for(
        lambda: center.agent_status(agents[0].id) == "talking",
        20,
        what="a call after the restart\n" + center.logs(),
    )


def test_a_dialled_call_that_ended_while_no_daemon_ran_is_closed_by_the_next(center, make_user):
    """Click to call, the daemon dies, the call ends unseen: the next daemon writes its CDR,
    takes it off the wallboard and gives the agent their status back."""
    _queue, users, agents = configure(make_user, agents=1)
    center.start(dids=DIDS, extensions=["1001"])
    center.simulator.add_endpoint("1001", answer_delay=0.2)
    customer = center.simulator.add_endpoint("13700001234", answer_delay=0.2, talk_time=60)
    assert center.command("login", users[0].id, ready=True).accepted
    call_uuid = center.dial(users[0].id, "13700001234")
    live = f"cc:live:call:{call_uuid}"
    wait_for(lambda: center.redis.hget(live, "state") == "bridged", 10, what="talking")

    old = center.daemons[0]
    old.kill()
    center.simulator.hangup(customer.channels[-1].uuid)
    wait_for(lambda: not center.simulator.channel(call_uuid), 10, what="the call is over")
    assert not center.facts("call_ended"), "nobody was there to see the end"

    start_replacement(center, old)
    cdr = wait_for(
        lambda: [f for f in center.facts("call_ended") if f["call_uuid"] == call_uuid],
        30,
        what="the dialled call's CDR from the next daemon\n" + center.logs(),
    )[0]
    assert cdr["direction"] == "outbound" and cdr["answered_at"] is not None
    assert not center.redis.exists(live)
    wait_for(lambda: center.agent_status(agents[0].id) == "ready", 10, what="ready again")
