"""Behaviour of the simulated switch beyond the recorded scenarios."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator

import gevent
import pytest

from cti.simulator import SwitchSimulator
from cti.simulator.dialplan import Dialplan, expand_variables
from cti.simulator.media import prompt_seconds, tone_stream_seconds, write_recording
from cti.simulator.parties import SimulatedAgentEndpoint, SimulatedCaller, TrafficGenerator
from cti.simulator.wire import serialize_json, serialize_plain, url_encode
from freeswitch_conf import failover
from tests.cti.simulator.tracetools import EslConnection, OutboundServer

DIALPLAN = """
<include>
  <context name="public">
    <extension name="tag" continue="true">
      <condition field="caller_id_number" expression="^(\\d{3})(\\d+)$">
        <action application="set" data="area=$1"/>
      </condition>
    </extension>
    <extension name="ivr">
      <condition field="destination_number" expression="^(8\\d{3})$">
        <action application="answer"/>
        <action application="set" data="dialed=$1"/>
        <action application="play_and_get_digits"
                data="1 1 3 2000 # ${menu_prompt} tone_stream://%(200,0,300) choice \\d 1000"/>
        <action application="hangup"/>
      </condition>
    </extension>
    <extension name="failover">
      <condition field="destination_number" expression="^9000$">
        <action application="socket" data="127.0.0.1:1 async full"/>
        <action application="answer"/>
        <action application="set" data="after_socket=${socket_host}"/>
        <action application="bridge" data="user/1001"/>
      </condition>
    </extension>
    <extension name="agents">
      <condition field="destination_number" expression="^(10\\d\\d)$">
        <action application="set" data="call_timeout=2"/>
        <action application="bridge" data="user/$1"/>
        <action application="hangup" data="${originate_disposition}"/>
      </condition>
    </extension>
    <extension name="anti">
      <condition field="destination_number" expression="^7777$"/>
      <condition field="${vip}" expression="^yes$">
        <action application="set" data="route=vip"/>
        <anti-action application="set" data="route=normal"/>
      </condition>
    </extension>
  </context>
</include>
"""


@pytest.fixture
def sim() -> Iterator[SwitchSimulator]:
    simulator = SwitchSimulator(dialplan_xml=DIALPLAN, speed=0.02, heartbeat_interval=1000)
    simulator.switch.global_variables["menu_prompt"] = "tone_stream://%(3000,0,440)"
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


def esl(sim: SwitchSimulator, events: str = "event plain ALL") -> EslConnection:
    connection = EslConnection.connect("127.0.0.1", sim.port)
    connection.wait_for(lambda f: f.content_type == "auth/request")
    connection.command("auth ClueCon")
    if events:
        connection.command(events)
    return connection


# -- wire format ----------------------------------------------------------------------
def test_url_encoding_matches_switch_url_encode() -> None:
    assert url_encode("sofia/internal/caller@127.0.0.1:5070") == (
        "sofia/internal/caller%40127.0.0.1%3A5070"
    )
    assert url_encode("Sat, 21 Nov 2026") == "Sat,%2021%20Nov%202026"
    assert url_encode("tone_stream://%(1000,0,440)") == "tone_stream%3A//%25(1000,0,440)"
    assert url_encode("already %41 encoded") == "already%20%41%20encoded"
    assert url_encode("a+b&c#d") == "a%2Bb%26c%23d"


def test_event_serialization_plain_and_json() -> None:
    headers = [("Event-Name", "API"), ("variable_x", "ARRAY::a b|:c"), ("Dup", "1"), ("Dup", "2")]
    plain = serialize_plain(headers, "+OK done\n")
    assert plain.endswith("Content-Length: 9\n\n+OK done\n")
    assert "variable_x: ARRAY%3A%3Aa%20b%7C%3Ac\n" in plain
    text = serialize_json(headers, "+OK done\n")
    assert text.startswith('{"Event-Name":"API","variable_x":["a b","c"],"Dup":"1","Dup":"2"')
    assert text.endswith('"Content-Length":"9","_body":"+OK done\\n"}')


# -- media ----------------------------------------------------------------------------
def test_prompt_durations(tmp_path) -> None:
    assert tone_stream_seconds("tone_stream://%(1000,0,440)") == 1.0
    assert tone_stream_seconds("tone_stream://%(400,200,400,450);%(400,2000,400,450)") == 3.0
    assert tone_stream_seconds("tone_stream://%(400,200,400);loops=-1") is None
    wav = tmp_path / "prompt.wav"
    write_recording(str(wav), 1.5)
    assert prompt_seconds(str(wav), 9.0) == pytest.approx(1.5, abs=0.01)
    assert prompt_seconds(str(tmp_path / "missing.wav"), 9.0) == 9.0
    assert prompt_seconds("silence_stream://250", 9.0) == 0.25


# -- dialplan -------------------------------------------------------------------------
def test_dialplan_captures_continue_and_anti_actions() -> None:
    dialplan = Dialplan(DIALPLAN)
    fields = {"destination_number": "8123", "caller_id_number": "5551234"}
    apps = dialplan.route("public", lambda name: fields.get(name, ""))
    assert apps[0] == ("set", "area=555")
    assert apps[1:3] == [("answer", ""), ("set", "dialed=8123")]
    anti_fields = {"destination_number": "7777", "${vip}": "no"}
    anti = dialplan.route("public", lambda name: anti_fields.get(name, ""))
    assert anti == [("set", "route=normal")]
    vip_fields = {"destination_number": "7777", "${vip}": "yes"}
    vip = dialplan.route("public", lambda name: vip_fields.get(name, ""))
    assert vip == [("set", "route=vip")]
    assert expand_variables("${a}-${b}", {"a": "1"}.get) == "1-"
    assert expand_variables("x=${up(y)}", {}.get, lambda c, a: f"{c}:{a}") == "x=up:y"


# -- calls ----------------------------------------------------------------------------
def test_play_and_get_digits_with_retries_and_speed(sim: SwitchSimulator) -> None:
    connection = esl(sim)
    caller = SimulatedCaller(sim, caller_id_number="5551234")
    # First try: wrong key (regexp \\d fails for *), second try: 7.
    caller.press_after_answer(0.5, "*")
    caller.press_after_answer(5.0, "7")
    started = time.monotonic()
    caller.dial("8123", context="public")
    connection.wait_event("CHANNEL_DESTROY", caller.uuid)
    # 3 s prompt + 2 s timeout + 0.2 s invalid prompt + ... at 50x speed.
    assert time.monotonic() - started < 2.0
    completes = [
        e
        for e in connection.observed().events
        if e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "play_and_get_digits"
    ]
    assert completes[0].get("variable_choice") == "7"
    assert completes[0].get("variable_area") == "555"
    assert caller.prompts == [
        "tone_stream://%(3000,0,440)",
        "tone_stream://%(200,0,300)",
        "tone_stream://%(3000,0,440)",
    ]
    dtmf = [e.get("DTMF-Digit") for e in connection.observed().events if e.name == "DTMF"]
    assert dtmf == ["*", "7"]


def test_socket_failure_continues_with_next_action(sim: SwitchSimulator) -> None:
    agent = SimulatedAgentEndpoint(sim, "1001", answer_delay=0.5, talk_time=2.0)
    connection = esl(sim)
    caller = SimulatedCaller(sim, caller_id_number="5551234")
    caller.dial("9000", context="public")
    connection.wait_event("CHANNEL_DESTROY", caller.uuid)
    events = connection.observed().events
    apps = [e.get("Application") for e in events if e.name == "CHANNEL_EXECUTE"]
    assert apps[:4] == ["set", "socket", "answer", "set"]
    assert any(e.name == "CHANNEL_BRIDGE" for e in events)
    assert agent.channels[0].hangup_cause == "NORMAL_CLEARING"


@pytest.mark.parametrize(
    ("mode", "registered", "cause"),
    [
        ("no_answer", True, "NO_ANSWER"),
        ("busy", True, "USER_BUSY"),
        ("reject", True, "CALL_REJECTED"),
        ("answer", False, "USER_NOT_REGISTERED"),
    ],
)
def test_bridge_failures_reach_the_caller(sim, mode, registered, cause) -> None:
    SimulatedAgentEndpoint(sim, "1002", mode=mode, registered=registered)
    caller = SimulatedCaller(sim, caller_id_number="5551234")
    caller.dial("1002", context="public")
    assert caller.wait_destroyed(timeout=10)
    assert caller.hangup_cause == cause


def test_originate_api_bgapi_and_custom_job_uuid(sim: SwitchSimulator) -> None:
    SimulatedAgentEndpoint(sim, "1003", answer_delay=0.2)
    connection = esl(sim)
    reply = connection.command(
        "bgapi originate {origination_caller_id_number=42}user/1003 &playback(silence_stream://500)",
        {"Job-UUID": "11111111-2222-4333-8444-555555555555"},
    )
    assert reply.reply_text == "+OK Job-UUID: 11111111-2222-4333-8444-555555555555"
    job = connection.wait_event("BACKGROUND_JOB", Job_UUID="11111111-2222-4333-8444-555555555555")
    uuid = job.body.split()[1]
    assert job.get("Job-Command") == "originate"
    connection.wait_event("CHANNEL_DESTROY", uuid)
    assert connection.command("api originate user/nobody &park()").body == (
        b"-ERR USER_NOT_REGISTERED\n"
    )
    assert connection.command("api nosuch").body == b"-ERR nosuch Command not found!\n"
    assert (
        connection.command(
            "sendmsg 00000000-0000-4000-8000-000000000000", {"call-command": "hangup"}
        ).reply_text
        == "-ERR invalid session id [00000000-0000-4000-8000-000000000000]"
    )


def test_event_subscription_commands(sim: SwitchSimulator) -> None:
    connection = esl(sim, events="")
    assert connection.command("event json").reply_text == "-ERR no keywords supplied"
    assert connection.command("noevents").reply_text == "-ERR not listening for events"
    assert connection.command("event plain CUSTOM conference::maintenance").reply_text == (
        "+OK event listener enabled plain"
    )
    assert connection.command("nixevent CUSTOM conference::maintenance").reply_text == (
        "+OK events nixed"
    )
    assert connection.command("filter Unique-ID").reply_text == "-ERR invalid syntax"
    assert connection.command("linger").reply_text == "-ERR not controlling a session"


def test_heartbeat_interval_is_configurable() -> None:
    with SwitchSimulator(speed=0.01, heartbeat_interval=20) as simulator:
        connection = esl(simulator, "event plain HEARTBEAT")
        started = time.monotonic()
        beat = connection.wait_event("HEARTBEAT", timeout=2)
        assert time.monotonic() - started < 0.5
        assert beat.get("Event-Info") == "System Ready"
        assert beat.get("FreeSWITCH-Version") == "1.10.12-release~64bit"


def test_record_session_writes_a_wav(sim: SwitchSimulator, tmp_path) -> None:
    sim.load_dialplan(
        f"""<include><context name="rec"><extension name="r">
        <condition field="destination_number" expression="^5000$">
          <action application="answer"/>
          <action application="record_session" data="{tmp_path}/call.wav"/>
          <action application="playback" data="tone_stream://%(2000,0,440)"/>
        </condition></extension></context></include>"""
    )
    caller = SimulatedCaller(sim)
    caller.dial("5000", context="rec")
    assert caller.wait_destroyed(timeout=10)
    with wave.open(str(tmp_path / "call.wav")) as recording:
        assert recording.getframerate() == 8000
        assert 1.8 < recording.getnframes() / 8000 < 2.8


def test_outbound_socket_timed_linger_and_exit(sim: SwitchSimulator) -> None:
    server = OutboundServer()
    sim.load_dialplan(
        f"""<include><context name="sock"><extension name="s">
        <condition field="destination_number" expression="^6000$">
          <action application="socket" data="127.0.0.1:{server.port} async full"/>
          <action application="hangup" data="USER_BUSY"/>
        </condition></extension></context></include>"""
    )
    caller = SimulatedCaller(sim)
    caller.dial("6000", context="sock")
    outbound = server.accept()
    connect = outbound.command("connect")
    assert connect.headers["Socket-Mode"] == "async"
    assert connect.headers["Control"] == "full"
    assert outbound.command("myevents").reply_text == "+OK Events Enabled"
    assert outbound.command("myevents").reply_text == "-ERR aready enabled."
    assert outbound.command("getvar channel_name").reply_text.startswith("sofia/internal/")
    # Closing the socket while the call is up ends the socket app: the dialplan goes on.
    outbound.send("exit")
    assert outbound.closed.wait(timeout=5)
    assert caller.wait_destroyed(timeout=5)
    assert caller.hangup_cause == "USER_BUSY"
    server.stop()


def test_uuid_commands_no_longer_find_a_hung_up_channel_its_socket_lingers_on(
    sim: SwitchSimulator,
) -> None:
    """As switch_core_session_locate (its read lock is refused from CS_HANGUP on), seen on
    FreeSWITCH 1.10.12: uuid_getvar answers -ERR once the channel hangs up, while the
    lingering socket still gets its events."""
    server = OutboundServer()
    sim.load_dialplan(
        f"""<include><context name="sock"><extension name="s">
        <condition field="destination_number" expression="^6000$">
          <action application="set" data="marker=here"/>
          <action application="socket" data="127.0.0.1:{server.port} async full"/>
        </condition></extension></context></include>"""
    )
    caller = SimulatedCaller(sim)
    caller.dial("6000", context="sock")
    outbound = server.accept()
    outbound.command("connect")
    outbound.command("myevents")
    outbound.command("linger")
    uuid = caller.uuid
    assert outbound.command(f"api uuid_getvar {uuid} marker").body == b"here"
    caller.hangup()
    outbound.wait_event("CHANNEL_HANGUP_COMPLETE", uuid)
    assert outbound.command(f"api uuid_getvar {uuid} marker").body == b"-ERR No such channel!\n"
    outbound.send("exit")
    assert outbound.closed.wait(timeout=5)
    server.stop()


def test_mod_db_api_answers_as_db_api_function(sim: SwitchSimulator) -> None:
    connection = esl(sim, events="")

    def api(argument: str) -> bytes:
        return connection.command(f"api db {argument}").body

    # Nothing to say: mod_event_socket's answer to an empty output.
    assert api("list/cc_test") == api("select/cc_test/k1") == b"-ERR no reply\n"
    assert api("insert/cc_test/k1/v1") == b"+OK"
    assert api("insert/cc_test/k2/a/b|c d") == b"+OK"  # the value keeps its slashes
    assert api("insert/cc_test/k1/v1 again") == b"+OK"  # replaces
    assert api("select/cc_test/k1") == b"v1 again" and api("select/cc_test/k2") == b"a/b|c d"
    assert api("exists/cc_test/k2") == b"true" and api("exists/cc_test/k3") == b"false"
    assert api("count/cc_test") == b"2" and api("list/cc_test") == b"k2,k1"
    assert api("delete/cc_test/k2") == b"+OK" and api("list/cc_test") == b"k1"
    assert api("insert/cc_test/k9") == b"!err!" and api("nonsense") == b"!err!"
    assert api(f"insert/cc_test/long/{'x' * 400}") == b"+OK"
    assert api("select/cc_test/long") == b"x" * 255  # read into 256 bytes
    for number in range(200):
        api(f"insert/cc_many/{number:036d}/1")
    listed = api("list/cc_many")  # 4,096 bytes with each key's comma, the last byte cut
    assert len(listed) == 4094 and listed.startswith(b"0" * 36 + b",")


def test_a_hangup_hook_set_by_the_dialplan_runs_at_hangup_with_the_calls_times(
    sim: SwitchSimulator,
) -> None:
    """The failover's record (freeswitch_conf/failover.py): the twice escaped
    ``\\\\\\${...}`` outlive the two expansions of ``set`` (the application's data, then
    its value) and are expanded when the call has hung up, before CHANNEL_HANGUP_COMPLETE.
    Escaped once, they are expanded by the second, before the call has its times: empty, as
    on FreeSWITCH 1.10.12; and the hook's expansion knows the channel's event headers, not
    its profile fields (``caller_id_number``): empty too."""
    once = "\\${end_uepoch} \\\\\\${caller_id_number}"  # escaped once; for an event
    sim.load_dialplan(
        f"""<include><context name="hook"><extension name="h">
        <condition field="destination_number" expression="^6100$">
          <action application="set" data="api_hangup_hook={failover.hangup_hook()}"/>
          <action application="answer"/>
          <action application="park"/>
        </condition></extension><extension name="once">
        <condition field="destination_number" expression="^6101$">
          <action application="set" data="api_hangup_hook=db insert/t/${{uuid}}/v1 {once}"/>
          <action application="answer"/>
          <action application="hangup"/>
        </condition></extension></context></include>"""
    )
    early = SimulatedCaller(sim)
    early.dial("6101", context="hook")
    assert early.wait_destroyed(timeout=10)
    assert sim.api.execute("db", f"select/t/{early.uuid}")[1] == "v1"

    connection = esl(sim, events="event plain CHANNEL_HANGUP_COMPLETE")
    caller = SimulatedCaller(sim, caller_id_number="13800000077")
    caller.dial("6100", context="hook")
    stored = ""
    for _ in range(100):
        stored = connection.command(f"api uuid_getvar {caller.uuid} api_hangup_hook").body.decode()
        if stored.startswith("db "):
            break
        gevent.sleep(0.02)
    assert stored.startswith(f"db insert/cc_failover/{caller.uuid}/v1|${{start_uepoch}}|")
    caller.hangup()
    event = connection.wait_event("CHANNEL_HANGUP_COMPLETE", caller.uuid)
    value = connection.command(f"api db select/cc_failover/{caller.uuid}").body.decode()
    record = failover.FailoverRecord.parse(caller.uuid, value)
    assert record.started_at == int(event.get("variable_start_uepoch")) / 1e6
    assert record.answered_at == int(event.get("variable_answer_uepoch")) / 1e6
    assert record.ended_at == int(event.get("variable_end_uepoch")) / 1e6
    assert record.started_at < record.answered_at <= record.ended_at
    assert (record.hangup_cause, record.destination, record.caller) == (
        event.get("variable_hangup_cause"), "6100", "13800000077",
    )  # fmt: skip


def test_traffic_generator_is_seedable_and_open_loop(sim: SwitchSimulator) -> None:
    sim.load_dialplan(
        """<include><context name="t"><extension name="t">
        <condition field="destination_number" expression="^4000$">
          <action application="answer"/><action application="park"/>
        </condition></extension></context></include>"""
    )
    first = TrafficGenerator(sim, "4000", arrival_rate=2.0, seed=7, context="t")
    second = TrafficGenerator(sim, "4000", arrival_rate=2.0, seed=7, context="t")
    assert [first.next_interarrival() for _ in range(5)] == [
        second.next_interarrival() for _ in range(5)
    ]
    generator = TrafficGenerator(
        sim,
        "4000",
        arrival_rate=5.0,
        handle_time=lambda rng: rng.uniform(0.5, 1.0),
        seed=3,
        context="t",
    )
    generator.start(max_calls=6)
    generator.join(timeout=5)
    deadline = time.monotonic() + 5
    while generator.stats.completed < 6 and time.monotonic() < deadline:
        gevent.sleep(0.02)
    assert generator.stats.offered == 6
    assert generator.stats.completed == 6
    assert all(c.hangup_cause == "NORMAL_CLEARING" for c in generator.stats.callers)


def test_traffic_pressing_during_the_greeting_is_flushed_but_not_during_the_menu(
    sim: SwitchSimulator, tmp_path
) -> None:
    """play_and_get_digits flushes the digits pressed before its prompt (as
    switch_play_and_get_digits does): demo callers press while the menu plays."""
    menu = tmp_path / "main_menu.wav"
    with wave.open(str(menu), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\0\0" * 16000)  # 2 s
    sim.load_dialplan(
        f"""<include><context name="t"><extension name="t">
        <condition field="destination_number" expression="^4001$">
          <action application="answer"/>
          <action application="playback" data="silence_stream://3000"/>
          <action application="play_and_get_digits"
                  data="1 1 1 3000 # {menu} silence_stream://100 choice \\d"/>
          <action application="park"/>
        </condition></extension></context></include>"""
    )
    choices = []
    for press_on_prompt in (None, "main_menu"):
        generator = TrafficGenerator(
            sim,
            "4001",
            arrival_rate=5.0,
            handle_time=lambda rng: 10.0,
            seed=1,
            context="t",
            digits=lambda rng: "0",
            press_on_prompt=press_on_prompt,
        )
        caller = generator.place_one()
        deadline = time.monotonic() + 5
        while "play_and_get_digits" not in _completed(caller) and time.monotonic() < deadline:
            gevent.sleep(0.01)
        choices.append(caller.channel.variables.get("choice"))
        caller.hangup()
    assert choices == [None, "0"]


def test_a_caller_following_some_kinds_sees_only_those(sim: SwitchSimulator) -> None:
    class Brief(SimulatedCaller):
        followed_events = frozenset({"CHANNEL_ANSWER", "CHANNEL_DESTROY"})

    sim.load_dialplan(
        """<include><context name="t"><extension name="t">
        <condition field="destination_number" expression="^4002$">
          <action application="answer"/><action application="hangup"/>
        </condition></extension></context></include>"""
    )
    full, brief = SimulatedCaller(sim), Brief(sim)
    for caller in (full, brief):
        caller.dial("4002", context="t")
        assert caller.wait_destroyed(timeout=5)
    assert brief.events == ["CHANNEL_ANSWER", "CHANNEL_DESTROY"]
    assert {"CHANNEL_EXECUTE", "CHANNEL_STATE", "CHANNEL_ANSWER"} <= set(full.events)


def _completed(caller: SimulatedCaller) -> str:
    channel = caller.channel
    return channel.variables.get("last_app", "") if channel is not None else ""


def test_agent_endpoint_hangs_up_on_command(sim: SwitchSimulator) -> None:
    agent = SimulatedAgentEndpoint(sim, "1004", answer_delay=0.1)
    caller = SimulatedCaller(sim, caller_id_number="5551234")
    caller.dial("1004", context="public")
    channel = agent.wait_ringing(timeout=5)
    assert channel is not None
    deadline = time.monotonic() + 5
    while not channel.answered and time.monotonic() < deadline:
        gevent.sleep(0.01)
    agent.hangup()
    assert caller.wait_destroyed(timeout=5)
    assert "CHANNEL_BRIDGE" in caller.events
    assert "CHANNEL_UNBRIDGE" in caller.events
    # sofia tells who ended each dialog: the phone sent its BYE, the switch the caller's.
    assert channel.variables["sip_hangup_disposition"] == "recv_bye"
    assert caller.channel.variables["sip_hangup_disposition"] == "send_bye"


def test_url_encoding_reproduces_every_recorded_value() -> None:
    """Re-encoding each decoded header value of the traces gives FreeSWITCH's bytes."""
    import urllib.parse

    from cti.esl.frames import FrameParser
    from tests.cti.simulator.tracetools import TRACES, traces_available

    if not traces_available():
        pytest.skip("fs-traces not available")
    checked = 0
    for path in sorted(TRACES.glob("*/*.rx")):
        for frame in FrameParser().feed(path.read_bytes()):
            if frame.content_type != "text/event-plain":
                continue
            block = frame.body.decode().split("\n\n", 1)[0]
            for line in block.split("\n"):
                _, _, raw = line.partition(": ")
                decoded = urllib.parse.unquote(raw)
                if "%" in decoded:
                    continue  # FreeSWITCH keeps %XX as is: such values do not round-trip
                assert url_encode(decoded) == raw, line
                checked += 1
    assert checked > 50_000


def test_gateway_numbers_and_inbound_myevents(sim: SwitchSimulator) -> None:
    connection = esl(sim, events="")
    sim.switch.gateway_default.answer_delay = 0.5
    reply = connection.command(
        "api originate {origination_caller_id_number=4001234567}"
        "sofia/gateway/carrier1/13900000000 &park()"
    )
    uuid = reply.body.decode().split()[1]
    watcher = esl(sim, events="")
    assert watcher.command(f"myevents {uuid}").reply_text == "+OK Events Enabled"
    assert connection.command(f"api uuid_kill {uuid} CALL_REJECTED").body == b"+OK\n"
    hangup = watcher.wait_event("CHANNEL_HANGUP", uuid)
    assert hangup.get("Hangup-Cause") == "CALL_REJECTED"
    assert hangup.get("Channel-Name") == "sofia/gateway/carrier1/13900000000"
    assert hangup.get("variable_sip_hangup_disposition") == "send_bye"  # the switch ended it
    # Like FreeSWITCH, a myevents connection is closed when its channel goes down.
    notice = watcher.wait_for(lambda f: f.content_type == "text/disconnect-notice")
    assert notice.headers["Controlled-Session-UUID"] == uuid
    assert watcher.closed.wait(timeout=5)


def test_caller_reacts_to_prompts_and_events(sim: SwitchSimulator) -> None:
    sim.load_dialplan(
        """<include><context name="q"><extension name="q">
        <condition field="destination_number" expression="^3000$">
          <action application="answer"/>
          <action application="playback" data="tone_stream://%(1000,0,350)"/>
          <action application="playback" data="local_stream://queue_music"/>
        </condition></extension></context></include>"""
    )
    caller = SimulatedCaller(sim)
    caller.when(caller.hangup, prompt="queue_music", delay=2.0)
    pressed = []
    caller.when(lambda: pressed.append(True), event="CHANNEL_ANSWER")
    started = sim.clock.now()
    caller.dial("3000", context="q")
    assert caller.wait_destroyed(timeout=5)
    assert pressed == [True]
    assert caller.prompts == ["tone_stream://%(1000,0,350)", "local_stream://queue_music"]
    assert 2.9 <= sim.clock.now() - started <= 4.0


def test_event_delivery_by_session_subscription_and_job_owner(sim: SwitchSimulator) -> None:
    """mod_event_socket's delivery rules, whatever routes events to the connections.

    myevents: the session's own events, and jobs it owns (Job-Owner-UUID) when it listens
    for BACKGROUND_JOB; ``event`` without myevents: every call's events; sendevent headers
    naming a job owner count like the switch's own.
    """
    server = OutboundServer()
    sim.load_dialplan(
        f"""<include><context name="sock"><extension name="s">
        <condition field="destination_number" expression="^6000$">
          <action application="socket" data="127.0.0.1:{server.port} async full"/>
        </condition></extension></context></include>"""
    )
    sessions = []
    callers = []
    for number in ("5550001", "5550002", "5550003"):
        caller = SimulatedCaller(sim, caller_id_number=number)
        caller.dial("6000", context="sock")
        outbound = server.accept()
        outbound.command("connect")
        callers.append(caller)
        sessions.append(outbound)
    mine, other, watcher = sessions
    for outbound in (mine, other):
        assert outbound.command("myevents").reply_text == "+OK Events Enabled"
        assert outbound.command("event plain BACKGROUND_JOB").reply_text.startswith("+OK")
    assert watcher.command("event plain CHANNEL_HANGUP").reply_text.startswith("+OK")

    job = mine.command("bgapi status", {"Job-UUID": "job-mine"}).headers["Job-UUID"]
    assert mine.wait_event("BACKGROUND_JOB", **{"Job_UUID": job}).get("Job-Owner-UUID") == (
        callers[0].uuid
    )
    inbound = esl(sim, events="")
    reply = inbound.command(
        "sendevent BACKGROUND_JOB",
        {"Job-UUID": "job-sent", "Job-Owner-UUID": callers[1].uuid},
    )
    assert reply.reply_text.startswith("+OK")
    other.command("bgapi status", {"Job-UUID": "job-other"})
    other.wait_event("BACKGROUND_JOB", **{"Job_UUID": "job-other"})
    jobs = [r.get("Job-UUID") for r in other.observed().events if r.name == "BACKGROUND_JOB"]
    assert jobs == ["job-sent", "job-other"]

    # A session that did not ask for myevents hears every call; myevents sessions their own.
    callers[0].hangup()
    assert callers[0].wait_destroyed(timeout=5)
    watcher.wait_event("CHANNEL_HANGUP", callers[0].uuid)
    mine.wait_event("CHANNEL_HANGUP", callers[0].uuid)
    callers[1].hangup()
    other.wait_event("CHANNEL_HANGUP", callers[1].uuid)
    for outbound, caller in ((mine, callers[0]), (other, callers[1])):
        uuids = {r.unique_id for r in outbound.observed().events if r.name != "BACKGROUND_JOB"}
        assert uuids == {caller.uuid}
    assert {r.unique_id for r in watcher.observed().events} >= {c.uuid for c in callers[:2]}
    callers[2].hangup()
    assert callers[2].wait_destroyed(timeout=5)
    inbound.close()
    server.stop()


def test_events_nobody_receives_still_take_their_sequence_numbers() -> None:
    """The switch does not build events no connection or party could receive, but the
    Event-Sequence numbers the others carry are those of a switch that fired them all."""

    def answer_sequence(subscription: str) -> tuple[int, int]:
        simulator = SwitchSimulator(dialplan_xml=DIALPLAN, speed=0.02, heartbeat_interval=1000)
        simulator.start()
        try:
            SimulatedAgentEndpoint(simulator, "1001", answer_delay=0.1, talk_time=0.2)
            watcher = esl(simulator, events=subscription)
            # The agent's leg has no party following it: only the subscription decides.
            caller = SimulatedCaller(simulator, caller_id_number="5550100")
            caller.dial("1001", context="public")
            assert caller.wait_destroyed(timeout=10)
            agent_leg = {"Channel_Name": "sofia/internal/1001@127.0.0.1:5080"}
            answer = watcher.wait_event("CHANNEL_ANSWER", **agent_leg)
            hangup = watcher.wait_event("CHANNEL_HANGUP_COMPLETE", **agent_leg)
            watcher.close()
            return int(answer.get("Event-Sequence")), int(hangup.get("Event-Sequence"))
        finally:
            simulator.stop()

    everything = answer_sequence("event plain ALL")
    some = answer_sequence("event plain CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")
    assert some == everything


def test_parties_read_the_same_events_whether_or_not_a_connection_takes_them() -> None:
    """Events only a party follows are built when the party reads them, during its
    callback: the same headers (and sequence numbers) as events built for a connection."""

    def caller_events(subscription: str | None) -> list[tuple[str, list[str], str | None]]:
        simulator = SwitchSimulator(dialplan_xml=DIALPLAN, speed=0.02, heartbeat_interval=1000)
        simulator.start()
        try:
            SimulatedAgentEndpoint(simulator, "1001", answer_delay=0.1, talk_time=0.2)
            watcher = esl(simulator, events=subscription) if subscription else None
            seen: list[tuple[str, list[str], str | None]] = []

            class Recorder(SimulatedCaller):
                def _on_event(self, event) -> None:
                    names = [n for n, _ in event.headers if not n.startswith("variable_")]
                    seen.append((event.name, names, event.get("Event-Sequence")))
                    super()._on_event(event)

            caller = Recorder(simulator, caller_id_number="5550100")
            caller.dial("1001", context="public")
            assert caller.wait_destroyed(timeout=10)
            seen.append(("hangup cause", [], caller.hangup_cause))
            if watcher is not None:
                watcher.close()
            return seen
        finally:
            simulator.stop()

    built = caller_events("event plain ALL")
    assert len(built) > 20
    assert caller_events(None) == built


def test_recording_a_file_already_recorded_goes_on_with_success(sim: SwitchSimulator, tmp_path):
    """switch_ivr_record_session: "Already recording", SWITCH_STATUS_SUCCESS; one recording
    goes on (a call transferred back to its queue and answered again is recorded once)."""
    sim.load_dialplan(
        """<include><context name="rec"><extension name="r">
        <condition field="destination_number" expression="^5001$">
          <action application="answer"/>
          <action application="playback" data="tone_stream://%(3000,0,440)"/>
        </condition></extension></context></include>"""
    )
    caller = SimulatedCaller(sim)
    caller.dial("5001", context="rec")
    assert caller.wait_answered(timeout=5)
    wav = tmp_path / "call.wav"
    assert sim.api.execute("uuid_record", f"{caller.uuid} start {wav}")[1] == "+OK Success\n"
    assert sim.api.execute("uuid_record", f"{caller.uuid} start {wav}")[1] == "+OK Success\n"
    assert sim.api.execute("uuid_record", f"{caller.uuid} stop {wav}")[1] == "+OK Success\n"
    assert caller.events.count("RECORD_START") == caller.events.count("RECORD_STOP") == 1
    assert wav.exists()
