"""The simulator runs the project's own rendered dialplan (freeswitch_conf)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cti.simulator import SwitchSimulator
from cti.simulator.parties import SimulatedAgentEndpoint, SimulatedCaller
from tests.cti.simulator.tracetools import EslConnection, OutboundServer

render = pytest.importorskip("freeswitch_conf.render")


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _public_dialplan(daemon_port: int) -> str:
    example = Path(render.__file__).with_name("example_context.json")
    data = json.loads(example.read_text())
    data["daemon_socket"] = f"127.0.0.1:{daemon_port}"
    rendered = render.render_to_memory(render.RenderContext.from_dict(data))
    return rendered[render.PUBLIC_DIALPLAN_PATH]


@pytest.fixture
def project_sim(request) -> Iterator[tuple[SwitchSimulator, int]]:
    port = request.param
    sim = SwitchSimulator(dialplan_xml=_public_dialplan(port), speed=0.05)
    sim.start()
    try:
        yield sim, port
    finally:
        sim.stop()


@pytest.mark.parametrize("project_sim", [_closed_port()], indirect=True)
def test_unreachable_daemon_fails_over_to_the_ring_group(project_sim) -> None:
    sim, _ = project_sim
    SimulatedAgentEndpoint(sim, "1001", mode="no_answer")
    SimulatedAgentEndpoint(sim, "1002", answer_delay=1.0, talk_time=3.0)
    events = EslConnection.connect("127.0.0.1", sim.port)
    events.wait_for(lambda f: f.content_type == "auth/request")
    events.command("auth ClueCon")
    events.command("event plain ALL")
    caller = SimulatedCaller(sim, caller_id_number="13800000000")
    caller.dial("4001234568", context="public")
    bridge = events.wait_event("CHANNEL_BRIDGE", caller.uuid)
    assert bridge.get("Other-Leg-Destination-Number") == "1002"
    events.wait_event("CHANNEL_DESTROY", caller.uuid)
    apps = [
        e.get("Application")
        for e in events.observed().events
        if e.name == "CHANNEL_EXECUTE" and e.unique_id == caller.uuid
    ]
    assert apps.index("socket") < apps.index("bridge")
    losers = [e for e in events.observed().events if e.name == "CHANNEL_HANGUP_COMPLETE"]
    assert {e.get("Hangup-Cause") for e in losers} >= {"LOSE_RACE", "NORMAL_CLEARING"}


def test_reachable_daemon_gets_the_call() -> None:
    server = OutboundServer()
    sim = SwitchSimulator(dialplan_xml=_public_dialplan(server.port), speed=0.05).start()
    try:
        caller = SimulatedCaller(sim, caller_id_number="13800000000")
        caller.dial("4001234568", context="public")
        daemon = server.accept()
        data = daemon.command("connect")
        assert data.headers["variable_cc_flow"] == "survey"
        assert data.headers["Caller-Destination-Number"] == "4001234568"
        daemon.command("myevents")
        daemon.command("sendmsg", {"call-command": "hangup", "hangup-cause": "NORMAL_CLEARING"})
        assert caller.wait_destroyed(timeout=5)
        assert caller.hangup_cause == "NORMAL_CLEARING"
    finally:
        sim.stop()
        server.stop()
