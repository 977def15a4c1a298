"""The simulator replays the recorded FreeSWITCH scenarios and must match them.

Each test drives the simulator the way the recorder drove FreeSWITCH (same ESL commands,
simulated SIP parties doing what sipp did) and compares what came back with the trace:
the per-channel event-name sequences, the header names of each event (values that vary
between runs are not compared; neither are channel variables, see docs/simulator.md) and
the reply texts.
"""

from __future__ import annotations

import json
import re

import gevent
import pytest

from cti.simulator import SwitchSimulator
from cti.simulator.parties import SimulatedAgentEndpoint, SimulatedCaller
from tests.cti.simulator.tracetools import (
    EslConnection,
    EventRecord,
    Observed,
    OutboundServer,
    compare_aligned_headers,
    compare_aligned_values,
    header_names_by_event,
    load_trace,
    per_channel,
    traces_available,
)

pytestmark = pytest.mark.skipif(not traces_available(), reason="fs-traces not available")

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize(text: str) -> str:
    if text.startswith('{"row_count":') and '"rows"' in text:
        # Rows hold values that differ between runs; keep the layout and the keys.
        document = json.loads(text)
        keys = [list(row) for row in document["rows"]]
        return f"rows={document['row_count']} keys={keys} newline={text.endswith(chr(10))}"
    text = UUID.sub("<uuid>", text)
    return re.sub(r"\d+", "<n>", text)


def replies(observed: Observed) -> list[tuple[str, str]]:
    return [(kind, normalize(text)) for kind, text in observed.replies]


def login(sim: SwitchSimulator, events: str = "event plain ALL") -> EslConnection:
    connection = EslConnection.connect("127.0.0.1", sim.port)
    connection.wait_for(lambda f: f.content_type == "auth/request")
    assert connection.command("auth ClueCon").reply_text == "+OK accepted"
    connection.command(events)
    return connection


def assert_channels_match(
    expected: Observed,
    actual: Observed,
    skip=None,
) -> None:
    want = per_channel(expected.events, skip)
    got = per_channel(actual.events, skip)
    assert {role: [e.key for e in evs] for role, evs in got.items()} == {
        role: [e.key for e in evs] for role, evs in want.items()
    }
    assert compare_aligned_headers(want, got) == []
    assert compare_aligned_values(want, got) == []


def assert_event_shapes_match(expected: Observed, actual: Observed, names: set[str]) -> None:
    want = header_names_by_event([e for e in expected.events if e.key in names])
    got = header_names_by_event([e for e in actual.events if e.key in names])
    assert got == want


# ---------------------------------------------------------------------------------- 1
def drive_auth_ok_and_bad(
    host: str, port: int, password: str = "ClueCon", heartbeat_timeout: float = 5.0
) -> tuple[EslConnection, EslConnection, EslConnection]:
    """The recorder's three connections: bad password, command before auth, main."""
    bad = EslConnection.connect(host, port)
    bad.wait_for(lambda f: f.content_type == "auth/request")
    bad.send("auth WrongPassword")
    assert bad.closed.wait(timeout=5)

    early = EslConnection.connect(host, port)
    early.wait_for(lambda f: f.content_type == "auth/request")
    early.command("api status")
    early.send("exit")
    assert early.closed.wait(timeout=5)

    main = EslConnection.connect(host, port)
    main.wait_for(lambda f: f.content_type == "auth/request")
    assert main.command(f"auth {password}").reply_text == "+OK accepted"
    main.command("event plain ALL")
    main.command("api status")
    main.command("bgapi status")
    main.command("bgapi status", {"Job-UUID": "d7a1e3c0-0000-4000-8000-000000000001"})
    main.wait_event("BACKGROUND_JOB", Job_UUID="d7a1e3c0-0000-4000-8000-000000000001")
    for command in [
        "api show channels",
        "api show calls as json",
        "api show channels as json",
        "blah",
        "api no_such_api_command",
        "api uuid_kill 00000000-0000-4000-8000-000000000000",
        "api uuid_getvar 00000000-0000-4000-8000-000000000000 foo",
        "api version",
        "api global_getvar hold_music",
        "api sofia status",
    ]:
        main.command(command)
    main.wait_event("HEARTBEAT", timeout=heartbeat_timeout)
    main.wait_event("RE_SCHEDULE", timeout=heartbeat_timeout)
    for command in [
        "noevents",
        "event plain HEARTBEAT CHANNEL_CREATE",
        "nixevent CHANNEL_CREATE",
        "noevents",
    ]:
        main.command(command)
    main.send("exit")
    assert main.closed.wait(timeout=5)
    return bad, early, main


def check_auth_ok_and_bad(bad: EslConnection, early: EslConnection, main: EslConnection) -> None:
    assert bytes(bad.raw) == load_trace_bytes("auth_ok_and_bad", "c1_bad_password")
    assert bytes(early.raw) == load_trace_bytes("auth_ok_and_bad", "c2_command_before_auth")
    expected = load_trace("auth_ok_and_bad", "c3_main")
    actual = main.observed()
    assert replies(actual) == replies(expected)
    # Besides the heartbeat's, the core's check_ip task reschedules every 60 s; the trace
    # caught none, a live switch may (every third heartbeat comes with one).
    events = [e for e in actual.events if not _other_task_rescheduled(e)]
    assert [e.key for e in events] == [e.key for e in expected.events]
    assert [e.header_names() for e in events] == [e.header_names() for e in expected.events]


def _other_task_rescheduled(event: EventRecord) -> bool:
    return event.name == "RE_SCHEDULE" and event.get("Task-Desc") != "heartbeat"


def test_auth_ok_and_bad(simulator: SwitchSimulator) -> None:
    check_auth_ok_and_bad(*drive_auth_ok_and_bad("127.0.0.1", simulator.port))


def load_trace_bytes(scenario: str, connection: str) -> bytes:
    from tests.cti.simulator.tracetools import TRACES

    return (TRACES / scenario / f"{connection}.rx").read_bytes()


# ---------------------------------------------------------------------------------- 2
def test_inbound_answer_playback_hangup(simulator: SwitchSimulator) -> None:
    connection = login(simulator)
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.dial("7001")
    assert caller.wait_destroyed(timeout=10)
    gevent.sleep(0.05)
    connection.send("exit")
    connection.closed.wait(timeout=5)
    expected = load_trace("inbound_answer_playback_hangup", "inbound")
    actual = connection.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual)
    assert caller.prompts == ["tone_stream://%(1000,0,440)"]
    assert caller.hangup_cause == "NORMAL_CLEARING"


def _not_heartbeat(event: EventRecord) -> bool:
    return event.name in ("HEARTBEAT", "RE_SCHEDULE")


# ---------------------------------------------------------------------------------- 3
def _execute(connection: EslConnection, app: str, arg: str = "", **headers: str) -> None:
    fields = {"call-command": "execute", "execute-app-name": app}
    if arg:
        fields["execute-app-arg"] = arg
    fields.update({k.replace("_", "-"): v for k, v in headers.items()})
    assert connection.command("sendmsg", fields).reply_text == "+OK"


def _outbound_setup(simulator: SwitchSimulator) -> OutboundServer:
    server = OutboundServer()
    simulator.switch.global_variables["fs_traces_socket_target"] = f"127.0.0.1:{server.port}"
    return server


def test_outbound_socket_ivr(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    server = _outbound_setup(simulator)
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.press_after_answer(2.5, "12#", interval=0.5)
    caller.dial("7000")
    outbound = server.accept()
    connect = outbound.command("connect")
    assert connect.headers["Reply-Text"] == "+OK\n"
    uuid = connect.headers["Unique-ID"]
    assert outbound.command("myevents").reply_text == "+OK Events Enabled"
    assert outbound.command("linger").reply_text == "+OK will linger"
    _execute(outbound, "answer", event_lock="true")
    outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="answer")
    _execute(outbound, "playback", "tone_stream://%(500,0,440)", event_lock="true")
    outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="playback")
    _execute(
        outbound,
        "play_and_get_digits",
        "1 4 1 5000 # tone_stream://%(3000,0,350) tone_stream://%(300,0,200) "
        "fs_traces_digits \\d+ 3000",
        Event_UUID="5ee0c0de-0000-4000-8000-000000000003",
    )
    done = outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="play_and_get_digits")
    assert done.get("variable_fs_traces_digits") == "12"
    assert done.get("Application-UUID") == "5ee0c0de-0000-4000-8000-000000000003"
    _execute(outbound, "set", "fs_traces_choice=12", event_lock="true")
    outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="set")
    assert outbound.command(f"api uuid_getvar {uuid} fs_traces_choice").body == b"12"
    reply = outbound.command(
        "sendmsg", {"call-command": "hangup", "hangup-cause": "NORMAL_CLEARING"}
    )
    assert reply.reply_text == "+OK"
    outbound.wait_for(lambda f: f.content_type == "text/disconnect-notice")
    assert not caller.destroyed.is_set()
    outbound.send("exit")
    assert outbound.closed.wait(timeout=5)
    assert caller.wait_destroyed(timeout=5)
    gevent.sleep(0.05)
    inbound.send("exit")
    inbound.closed.wait(timeout=5)
    server.stop()

    expected_out = load_trace("outbound_socket_ivr", "outbound")
    actual_out = outbound.observed()
    assert replies(actual_out) == replies(expected_out)
    assert_channels_match(expected_out, actual_out)
    assert [kind for kind, _ in actual_out.frames] == [kind for kind, _ in expected_out.frames]
    expected_in = load_trace("outbound_socket_ivr", "inbound")
    actual_in = inbound.observed()
    assert_channels_match(expected_in, actual_in)
    assert_event_shapes_match(expected_in, actual_in, {"API", "PRIVATE_COMMAND", "DTMF"})


# ---------------------------------------------------------------------------------- 13
def test_outbound_socket_no_linger(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    server = _outbound_setup(simulator)
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.hangup_after_answer(1.5)
    caller.dial("7000")
    outbound = server.accept()
    uuid = outbound.command("connect").headers["Unique-ID"]
    outbound.command("myevents")
    _execute(outbound, "answer", event_lock="true")
    outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="answer")
    _execute(outbound, "playback", "tone_stream://%(5000,0,440)")
    assert outbound.closed.wait(timeout=5)
    assert caller.wait_destroyed(timeout=5)
    gevent.sleep(0.05)
    inbound.send("exit")
    inbound.closed.wait(timeout=5)
    server.stop()

    expected_out = load_trace("outbound_socket_no_linger", "outbound")
    actual_out = outbound.observed()
    assert replies(actual_out) == replies(expected_out)
    assert_channels_match(expected_out, actual_out)
    complete = [e for e in actual_out.events if e.name == "CHANNEL_EXECUTE_COMPLETE"]
    assert [e.get("Application-Response") for e in complete] == [
        "_none_",
        "PLAYBACK ERROR",
        "PLAYBACK ERROR",
    ]
    assert_channels_match(load_trace("outbound_socket_no_linger", "inbound"), inbound.observed())


# ---------------------------------------------------------------------------------- 4
def _park_caller(simulator: SwitchSimulator, inbound: EslConnection, hangup_after: float):
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.hangup_after_answer(hangup_after)
    caller.dial("7005")
    inbound.wait_event("CHANNEL_PARK", caller.uuid)
    return caller


def _originate(inbound: EslConnection, argument: str) -> str:
    reply = inbound.command(f"bgapi originate {argument}")
    job = reply.headers["Job-UUID"]
    result = inbound.wait_event("BACKGROUND_JOB", Job_UUID=job)
    assert result.body.startswith("+OK "), result.body
    return result.body.split()[1]


def test_originate_and_uuid_bridge(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    SimulatedAgentEndpoint(simulator, "agent1", answer_delay=1.0)
    caller = _park_caller(simulator, inbound, 8.0)
    reply = inbound.command(
        f"sendmsg {caller.uuid}",
        {
            "call-command": "execute",
            "execute-app-name": "playback",
            "execute-app-arg": "tone_stream://%(500,0,620)",
            "event-lock": "true",
        },
    )
    assert reply.reply_text == "+OK"
    inbound.wait_event("CHANNEL_EXECUTE_COMPLETE", caller.uuid, Application="playback")
    agent = _originate(
        inbound,
        "{origination_caller_id_number=1000}sofia/internal/sip:agent1@127.0.0.1:5080 &park()",
    )
    inbound.wait_event("CHANNEL_PARK", agent)
    bridged = inbound.command(f"api uuid_bridge {caller.uuid} {agent}")
    assert bridged.body.decode() == f"+OK {agent}\n"
    inbound.wait_event("CALL_UPDATE", caller.uuid)
    simulator.clock.sleep(0.5)
    calls = inbound.command("api show calls as json").body.decode()
    assert calls.startswith('{"row_count":1,"rows":[{"uuid":"' + caller.uuid), calls
    assert caller.wait_destroyed(timeout=10)
    simulator.clock.sleep(1.0)
    assert inbound.command("api show channels as json").body == b'{"row_count": 0}\n'
    inbound.send("exit")
    inbound.closed.wait(timeout=5)

    expected = load_trace("originate_and_uuid_bridge", "inbound")
    actual = inbound.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual)
    assert_event_shapes_match(expected, actual, {"API", "BACKGROUND_JOB", "PRIVATE_COMMAND"})


# ---------------------------------------------------------------------------------- 5
def test_bridge_app_no_answer_then_answer(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    server = _outbound_setup(simulator)
    SimulatedAgentEndpoint(simulator, "agent1", mode="no_answer")
    SimulatedAgentEndpoint(simulator, "agent2", answer_delay=1.0, port=5081)
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.hangup_after_answer(10.0)
    caller.dial("7000")
    outbound = server.accept()
    uuid = outbound.command("connect").headers["Unique-ID"]
    outbound.command("myevents")
    assert outbound.command("linger 5").reply_text == "+OK will linger 5 seconds"
    _execute(outbound, "answer", event_lock="true")
    outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="answer")
    _execute(outbound, "set", "call_timeout=3", event_lock="true")
    outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="set")
    started = simulator.clock.now()
    _execute(outbound, "bridge", "sofia/internal/sip:agent1@127.0.0.1:5080")
    failed = outbound.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid, Application="bridge")
    assert 2.0 <= simulator.clock.now() - started <= 3.3
    assert failed.get("variable_originate_disposition") == "NO_ANSWER"
    _execute(outbound, "bridge", "sofia/internal/sip:agent2@127.0.0.1:5081")
    outbound.wait_for(lambda f: f.content_type == "text/disconnect-notice")
    notice_time = simulator.clock.now()
    assert outbound.closed.wait(timeout=5)
    assert 5.0 <= simulator.clock.now() - notice_time <= 6.5
    assert caller.wait_destroyed(timeout=5)
    simulator.clock.sleep(1.0)
    inbound.command("api show channels as json")
    inbound.send("exit")
    inbound.closed.wait(timeout=5)
    server.stop()

    expected_out = load_trace("bridge_app_no_answer_then_answer", "outbound")
    actual_out = outbound.observed()
    assert replies(actual_out) == replies(expected_out)
    assert_channels_match(expected_out, actual_out)
    expected_in = load_trace("bridge_app_no_answer_then_answer", "inbound")
    actual_in = inbound.observed()
    assert_channels_match(expected_in, actual_in)


# ---------------------------------------------------------------------------------- 12
def test_originate_failures_and_kill(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    reply = inbound.command("api originate user/1000 &park()")
    assert reply.body == b"-ERR USER_NOT_REGISTERED\n"
    agent1 = SimulatedAgentEndpoint(simulator, "agent1", mode="busy")
    SimulatedAgentEndpoint(simulator, "agent2", mode="no_answer", port=5081)
    results = []
    for argument in [
        "{origination_caller_id_number=1000}sofia/internal/sip:agent1@127.0.0.1:5080 &park()",
        "{originate_timeout=5}sofia/internal/sip:nobody@127.0.0.1:5099 &park()",
        "{originate_timeout=3}sofia/internal/sip:agent2@127.0.0.1:5081 &park()",
    ]:
        job = inbound.command(f"bgapi originate {argument}").headers["Job-UUID"]
        results.append(inbound.wait_event("BACKGROUND_JOB", Job_UUID=job).body)
    assert results == ["-ERR USER_BUSY\n", "-ERR NORMAL_TEMPORARY_FAILURE\n", "-ERR NO_ANSWER\n"]
    simulator.clock.sleep(0.5)
    agent1.configure(mode="answer", answer_delay=1.0)
    reply = inbound.command(
        "api originate {origination_caller_id_number=1000}"
        "sofia/internal/sip:agent1@127.0.0.1:5080 &park()"
    )
    uuid = reply.body.decode().split()[1]
    inbound.wait_event("CHANNEL_PARK", uuid)
    assert inbound.command(f"api uuid_kill {uuid}").body == b"+OK\n"
    inbound.wait_event("CHANNEL_DESTROY", uuid)
    assert inbound.command(f"api uuid_kill {uuid}").body == b"-ERR No such channel!\n"
    simulator.clock.sleep(1.0)
    assert inbound.command("api show channels as json").body == b'{"row_count": 0}\n'
    inbound.send("exit")
    inbound.closed.wait(timeout=5)

    expected = load_trace("originate_failures_and_kill", "inbound")
    actual = inbound.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual)
    assert_event_shapes_match(expected, actual, {"API", "BACKGROUND_JOB"})
    # The blocking api originate: its reply comes before any event of the new leg.
    kinds = [kind for kind, _ in actual.frames]
    originate_reply = next(
        i
        for i, (kind, text) in enumerate(actual.frames)
        if kind == "api/response" and str(text).startswith("+OK ") and uuid in str(text)
    )
    first_leg_event = next(
        i
        for i, (kind, record) in enumerate(actual.frames)
        if kind == "event" and isinstance(record, EventRecord) and record.unique_id == uuid
    )
    assert originate_reply < first_leg_event, kinds


# ---------------------------------------------------------------------------------- 6
def _bridged_call(simulator: SwitchSimulator, inbound: EslConnection) -> SimulatedCaller:
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.dial("7002")
    inbound.wait_event("CHANNEL_BRIDGE", caller.uuid)
    return caller


def test_hold_transfer_record(simulator: SwitchSimulator, tmp_path) -> None:
    inbound = login(simulator)
    SimulatedAgentEndpoint(simulator, "agent1", answer_delay=1.0)
    caller = _bridged_call(simulator, inbound)
    uuid = caller.uuid
    wav = tmp_path / "fs_traces_x.wav"
    simulator.clock.sleep(1.0)
    assert inbound.command(f"api uuid_hold {uuid}").body == b"+OK Success\n"
    simulator.clock.sleep(2.0)
    assert inbound.command(f"api uuid_hold off {uuid}").body == b"+OK Success\n"
    simulator.clock.sleep(1.0)
    assert inbound.command(f"api uuid_record {uuid} start {wav}").body == b"+OK Success\n"
    simulator.clock.sleep(2.0)
    assert inbound.command(f"api uuid_record {uuid} stop {wav}").body == b"+OK Success\n"
    simulator.clock.sleep(0.5)
    assert inbound.command(f"api uuid_setvar {uuid} fs_traces_tag hello-world").body == b"+OK\n"
    assert inbound.command(f"api uuid_getvar {uuid} fs_traces_tag").body == b"hello-world"
    assert inbound.command(f"api uuid_getvar {uuid} fs_traces_no_such_var").body == b"_undef_"
    reply = inbound.command(f"api uuid_broadcast {uuid} tone_stream://%(500,0,800) aleg")
    assert reply.body == b"+OK Message sent\n"
    simulator.clock.sleep(1.7)
    assert inbound.command(f"api uuid_transfer {uuid} 7001 XML default").body == b"+OK\n"
    assert caller.wait_destroyed(timeout=10)
    simulator.clock.sleep(1.0)
    inbound.command("api show channels as json")
    inbound.send("exit")
    inbound.closed.wait(timeout=5)

    expected = load_trace("hold_transfer_record", "inbound")
    actual = inbound.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual)
    assert_event_shapes_match(expected, actual, {"API"})
    assert caller.prompts == ["tone_stream://%(500,0,800)", "tone_stream://%(1000,0,440)"]
    import wave

    with wave.open(str(wav)) as recording:
        assert recording.getframerate() == 8000
        assert 1.8 <= recording.getnframes() / 8000 <= 2.6


# ---------------------------------------------------------------------------------- 9
def test_json_format(simulator: SwitchSimulator) -> None:
    connection = login(simulator, "event json ALL")
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.dial("7001")
    assert caller.wait_destroyed(timeout=10)
    job = connection.command("bgapi show calls").headers["Job-UUID"]
    result = connection.wait_event("BACKGROUND_JOB", Job_UUID=job)
    connection.send("exit")
    connection.closed.wait(timeout=5)

    expected = load_trace("json_format", "inbound")
    actual = connection.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual)
    want_job = next(e for e in expected.events if e.name == "BACKGROUND_JOB")
    # The core database still lists the channel right after its CHANNEL_DESTROY.
    assert normalize(result.body) == normalize(want_job.body), result.body
    assert result.header_names() == want_job.header_names()
    raw = bytes(connection.raw)
    assert b'"variable_DP_MATCH":["DELAYED NEGOTIATION","DELAYED NEGOTIATION"]' in raw
    assert b'"_body":"uuid,direction,' in raw


# ---------------------------------------------------------------------------------- 10
def test_filtered_subscription(simulator: SwitchSimulator) -> None:
    inbound = login(
        simulator,
        "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE "
        "CUSTOM conference::maintenance",
    )
    SimulatedAgentEndpoint(simulator, "agent1", answer_delay=1.0)
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.hangup_after_answer(8.0)
    caller.dial("7005")
    inbound.wait_event("CHANNEL_CREATE", caller.uuid)
    reply = inbound.command(f"filter Unique-ID {caller.uuid}")
    assert reply.reply_text == f"+OK filter added. [Unique-ID]=[{caller.uuid}]"
    agent = inbound.command("api create_uuid").body.decode()
    inbound.command(f"filter Unique-ID {agent}")
    inbound.command(
        f"bgapi originate {{origination_uuid={agent},origination_caller_id_number=1000}}"
        "sofia/internal/sip:agent1@127.0.0.1:5080 &park()"
    )
    inbound.wait_event("CHANNEL_ANSWER", agent)
    simulator.clock.sleep(0.1)
    assert inbound.command(f"api uuid_bridge {caller.uuid} {agent}").body.decode() == (
        f"+OK {agent}\n"
    )
    reply = inbound.command(f"filter delete Unique-ID {agent}")
    assert reply.reply_text == f"+OK filter deleted. [Unique-ID][{agent}]"
    assert caller.wait_destroyed(timeout=15)
    simulator.clock.sleep(1.0)
    inbound.command("api show channels as json")
    inbound.command(f"filter delete Unique-ID {caller.uuid}")
    inbound.command(f"filter delete Unique-ID {caller.uuid}")
    inbound.send("exit")
    inbound.closed.wait(timeout=5)

    expected = load_trace("filtered_subscription", "inbound")
    actual = inbound.observed()
    assert replies(actual) == replies(expected)
    assert [e.key for e in actual.events] == [e.key for e in expected.events]
    assert_channels_match(expected, actual)


# ---------------------------------------------------------------------------------- 7
def test_eavesdrop_whisper_barge(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    SimulatedAgentEndpoint(simulator, "agent1", answer_delay=1.0)
    supervisor = SimulatedAgentEndpoint(simulator, "agent2", answer_delay=0.3, port=5081)
    supervisor.endpoint.dtmf_script = [(3, "1"), (3, "2"), (3, "3"), (3, "0"), (9, "*")]
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.hangup_after_answer(34.0)
    caller.dial("7002")
    inbound.wait_event("CHANNEL_BRIDGE", caller.uuid)
    simulator.clock.sleep(0.6)
    sup = inbound.command("api create_uuid").body.decode()
    inbound.command(
        f"bgapi originate {{origination_uuid={sup},origination_caller_id_number=9000,"
        "origination_caller_id_name=Supervisor,eavesdrop_enable_dtmf=true}"
        f"sofia/internal/sip:agent2@127.0.0.1:5081 &eavesdrop({caller.uuid})"
    )
    inbound.wait_event("CHANNEL_ANSWER", sup)
    answered = simulator.clock.now()
    for offset, command in [(13.1, "2"), (15.1, "3"), (17.1, "0")]:
        simulator.clock.sleep(max(0.0, answered + offset - simulator.clock.now()))
        reply = inbound.command(
            "sendevent CUSTOM",
            {
                "Event-Subclass": "fs_traces::eavesdrop",
                "Unique-ID": sup,
                "eavesdrop-command": command,
            },
        )
        assert UUID.fullmatch(reply.reply_text.removeprefix("+OK "))
        modes = simulator.channel(sup)
        assert (
            modes is not None
            and modes.eavesdrop_mode == {"2": "whisper-b", "3": "barge", "0": "listen"}[command]
        )
    inbound.wait_event("CHANNEL_DESTROY", sup, timeout=10)
    assert caller.wait_destroyed(timeout=15)
    simulator.clock.sleep(1.0)
    inbound.command("api show channels as json")
    inbound.send("exit")
    inbound.closed.wait(timeout=5)

    expected = load_trace("eavesdrop_whisper_barge", "inbound")
    actual = inbound.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual, skip=_not_heartbeat)
    assert not [e for e in actual.events if e.name == "CUSTOM"]


# ---------------------------------------------------------------------------------- 8
# Tones and talk detection depend on the audio (the agent2 sipp echoed RTP); the floor
# follows whoever talks. The simulator sends no audio, so these are not compared.
RACY_CONFERENCE_ACTIONS = {
    "play-file",
    "play-file-done",
    "start-talking",
    "stop-talking",
    "floor-change",
}


def _conference_action(event: EventRecord) -> str | None:
    if event.key != "CUSTOM conference::maintenance":
        return None
    return event.get("Action")


def _skip_conference_noise(event: EventRecord) -> bool:
    action = _conference_action(event)
    return action in RACY_CONFERENCE_ACTIONS or event.name in ("HEARTBEAT", "RE_SCHEDULE")


def test_conference_three_way(simulator: SwitchSimulator) -> None:
    inbound = login(simulator)
    SimulatedAgentEndpoint(simulator, "agent1", answer_delay=1.0)
    SimulatedAgentEndpoint(simulator, "agent2", answer_delay=1.0, port=5081)
    caller = SimulatedCaller(simulator, "caller", "sipp caller")
    caller.hangup_after_answer(22.0)
    caller.dial("7003")
    inbound.wait_event("CUSTOM", caller.uuid, Action="add-member")
    for number, agent, port in [("1001", "agent1", 5080), ("1002", "agent2", 5081)]:
        simulator.clock.sleep(0.5)
        job = inbound.command(
            f"bgapi originate {{origination_caller_id_number={number}}}"
            f"sofia/internal/sip:{agent}@127.0.0.1:{port} &conference(3way@default)"
        ).headers["Job-UUID"]
        uuid = inbound.wait_event("BACKGROUND_JOB", Job_UUID=job).body.split()[1]
        inbound.wait_event("CUSTOM", uuid, Action="add-member")
    simulator.clock.sleep(1.0)
    listing = inbound.command("api conference 3way list").body.decode()
    assert [line.split(";")[0] for line in listing.splitlines()] == ["3", "2", "1"]
    assert all(len(line.split(";")) == 9 for line in listing.splitlines())
    members = json.loads(inbound.command("api conference 3way json_list").body)
    assert members[0]["conference_name"] == "3way" and members[0]["member_count"] == 3
    assert inbound.command("api conference 3way mute 2").body == b"+OK mute 2\n"
    simulator.clock.sleep(1.5)
    assert inbound.command("api conference 3way unmute 2").body == b"+OK unmute 2\n"
    simulator.clock.sleep(1.5)
    assert inbound.command("api conference 3way kick 2").body == b"+OK kicked 2\n"
    inbound.command("api conference 3way list")
    assert caller.wait_destroyed(timeout=20)
    simulator.clock.sleep(1.0)
    assert inbound.command("api conference 3way kick all").body == b"+OK kicked 3\n"
    inbound.wait_event("CUSTOM", Action="conference-destroy")
    simulator.clock.sleep(1.0)
    inbound.command("api show channels as json")
    inbound.send("exit")
    inbound.closed.wait(timeout=5)

    expected = load_trace("conference_three_way", "inbound")
    actual = inbound.observed()
    assert replies(actual)[:3] == replies(expected)[:3]
    assert [kind for kind, _ in actual.replies] == [kind for kind, _ in expected.replies]
    assert_channels_match(expected, actual, skip=_skip_conference_noise)
    deterministic = [
        (_conference_action(e), e.get("Member-ID"))
        for e in expected.events
        if _conference_action(e) and not _skip_conference_noise(e)
    ]
    got = [
        (_conference_action(e), e.get("Member-ID"))
        for e in actual.events
        if _conference_action(e) and not _skip_conference_noise(e)
    ]
    assert got == deterministic

    def shapes(observed: Observed) -> dict[str, set[tuple[str, ...]]]:
        result: dict[str, set[tuple[str, ...]]] = {}
        for event in observed.events:
            action = _conference_action(event)
            if action and action not in RACY_CONFERENCE_ACTIONS:
                result.setdefault(action, set()).add(tuple(event.header_names()))
        return result

    want_shapes, got_shapes = shapes(expected), shapes(actual)
    for action in want_shapes:
        assert got_shapes.get(action) == want_shapes[action], action
