"""OutboundServer and OutboundSession against FreeSWITCH's recorded outbound sockets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import gevent
import gevent.event
import gevent.socket
import pytest

from cti.esl.events import ChannelData, ChannelExecuteComplete, Dtmf
from cti.esl.outbound import ChannelHangup, OutboundServer, OutboundSession

from .fake_switch import ReplayPeer
from .traces import connection, requires_traces

pytestmark = requires_traces

PLAY_AND_GET_DIGITS = (
    "1 4 1 5000 # tone_stream://%(3000,0,350) tone_stream://%(300,0,200) fs_traces_digits \\d+ 3000"
)


def run_call(recorded, handler_class) -> tuple[ReplayPeer, list]:
    """FreeSWITCH (the replay) dials our server; returns the peer and what handlers saw."""
    seen: list = []

    def factory(session: OutboundSession):
        return handler_class(session, seen)

    server = OutboundServer(factory, "127.0.0.1", 0)
    server.start()
    peer = ReplayPeer(recorded)
    try:
        sock = gevent.socket.create_connection(server.address)
        gevent.spawn(peer.serve, sock)
        assert peer.finished.wait(10), "the replayed call did not finish"
        with gevent.Timeout(5):
            while server.sessions:
                gevent.sleep(0.01)
    finally:
        server.stop(timeout=1)
    return peer, seen


class IvrHandler:
    """The outbound_socket_ivr script, written against the session API."""

    def __init__(self, session: OutboundSession, seen: list) -> None:
        self.session = session
        self.seen = seen

    def run(self) -> None:
        session = self.session
        self.seen.append(session)
        self.seen.append(session.connect())
        session.myevents()
        session.linger()
        self.seen.append(session.execute("answer"))
        self.seen.append(session.execute("playback", "tone_stream://%(500,0,440)"))
        self.seen.append(
            session.execute(
                "play_and_get_digits",
                PLAY_AND_GET_DIGITS,
                event_lock=False,
                event_uuid="5ee0c0de-0000-4000-8000-000000000003",
            )
        )
        self.seen.append(session.set_variable("fs_traces_choice", "12"))
        self.seen.append(session.api(f"uuid_getvar {session.uuid} fs_traces_choice"))
        session.hangup("NORMAL_CLEARING")
        # With linger, the notice comes once the channel is down; wait for it.
        with gevent.Timeout(5):
            while not session.lingering:
                gevent.sleep(0.01)
        with pytest.raises(ChannelHangup):
            session.execute("playback", "tone_stream://%(100,0,440)")


def test_outbound_ivr_session():
    recorded = connection("outbound_socket_ivr", "outbound")
    peer, seen = run_call(recorded, IvrHandler)
    session, data, answer, playback, digits, set_complete, choice = seen
    assert isinstance(data, ChannelData)
    assert data.unique_id == session.uuid == "3fdc403d-73df-428c-8364-83b7055d8ae6"
    assert data.caller_number == "caller" and data.destination_number == "7000"
    assert isinstance(answer, ChannelExecuteComplete) and answer.application == "answer"
    assert playback.application == "playback"
    assert playback.application_response == "FILE PLAYED"
    assert digits.application_uuid == "5ee0c0de-0000-4000-8000-000000000003"
    assert digits.variable("fs_traces_digits") == "12"
    assert set_complete.application_data == "fs_traces_choice=12"
    assert choice == "12"
    # What went over the wire: the recorded command sequence, with event-lock and our uuids.
    assert peer.commands() == [
        "connect",
        "myevents",
        "linger",
        "sendmsg",
        "sendmsg",
        "sendmsg",
        "sendmsg",
        "api uuid_getvar 3fdc403d-73df-428c-8364-83b7055d8ae6 fs_traces_choice",
        "sendmsg",
        "exit",
    ]
    answer_message = peer.received[3].raw_headers
    assert answer_message["execute-app-name"] == "answer"
    assert answer_message["event-lock"] == "true"
    assert answer_message["Event-UUID"] == answer.application_uuid
    assert "event-lock" not in peer.received[5].raw_headers
    assert peer.received[8].raw_headers["hangup-cause"] == "NORMAL_CLEARING"
    # The session's event stream, and both disconnect notices.
    events = list(session.iter_events(timeout=1))
    assert [event.digit for event in events if isinstance(event, Dtmf)] == ["1", "2", "#"]
    assert [event.name for event in events] == recorded.event_names
    assert [notice.headers["Content-Disposition"] for notice in session.disconnect_notices] == [
        "linger",
        "disconnect",
    ]
    assert session.hangup_cause == "NORMAL_CLEARING"
    assert not session.connected


class HangupDuringPlayback:
    def __init__(self, session: OutboundSession, seen: list) -> None:
        self.session = session
        self.seen = seen

    def run(self) -> None:
        self.seen.append(self.session)
        self.session.myevents()
        self.seen.append(self.session.execute("answer"))
        try:
            self.session.execute("playback", "tone_stream://%(5000,0,440)", event_lock=False)
        except ChannelHangup as hangup:
            self.seen.append(hangup)
            raise


def test_caller_hangup_raises_channel_hangup_in_pending_execute():
    recorded = connection("outbound_socket_no_linger", "outbound")
    peer, seen = run_call(recorded, HangupDuringPlayback)
    session, answer, hangup = seen
    assert answer.application == "answer"
    assert isinstance(hangup, ChannelHangup)
    assert hangup.cause == "NORMAL_CLEARING"
    assert hangup.channel_uuid == session.uuid
    assert [n.headers["Content-Disposition"] for n in session.disconnect_notices] == ["disconnect"]
    assert peer.commands() == ["connect", "myevents", "sendmsg", "sendmsg"]
    events = list(session.iter_events(timeout=1))
    names = [event.name for event in events]
    assert names == recorded.event_names


def test_execute_sends_multiline_argument_as_body():
    recorded = connection("outbound_socket_no_linger", "outbound")

    class MultiLine(HangupDuringPlayback):
        def run(self) -> None:
            self.seen.append(self.session)
            self.session.myevents()
            self.seen.append(self.session.execute("answer", "line one\nline two"))

    peer, _seen = run_call(recorded, MultiLine)
    message = peer.received[2]
    assert message.raw_headers["content-length"] == str(len(b"line one\nline two"))
    assert message.body == b"line one\nline two"


@pytest.mark.freeswitch
def test_real_freeswitch_outbound_socket():
    """A loopback call from a real FreeSWITCH runs `socket` into our server."""
    import os

    from cti.esl.inbound import InboundClient

    seen: list = []

    class Script:
        def __init__(self, session: OutboundSession) -> None:
            self.session = session

        def run(self) -> None:
            self.session.myevents()
            seen.append(self.session.execute("answer"))
            seen.append(self.session.execute("playback", "tone_stream://%(200,0,440)"))
            self.session.hangup()

    server = OutboundServer(Script, "127.0.0.1", 0)
    server.start()
    client = InboundClient.from_url(os.environ["FREESWITCH_ESL_URL"], heartbeat_timeout=None)
    client.connect()
    try:
        port = server.address[1]
        client.bgapi(f"originate loopback/9196/default &socket(127.0.0.1:{port} async full)")
        with gevent.Timeout(20):
            while len(seen) < 2 or server.sessions:
                gevent.sleep(0.05)
        assert [event.application for event in seen] == ["answer", "playback"]
        assert seen[1].application_response == "FILE PLAYED"
    finally:
        client.stop()
        server.stop(timeout=1)


def test_a_session_can_hand_out_only_some_kinds_of_events():
    """The session still completes executes and notices the hangup; iter_events yields only
    the kinds asked for, in order."""
    recorded = connection("outbound_socket_ivr", "outbound")

    class DigitsOnly(IvrHandler):
        def run(self) -> None:
            self.session.delivered_events = (Dtmf,)
            super().run()

    peer, seen = run_call(recorded, DigitsOnly)
    session, _data, answer, playback, digits, _set, choice = seen
    assert answer.application == "answer" and playback.application == "playback"
    assert digits.variable("fs_traces_digits") == "12" and choice == "12"
    events = list(session.iter_events(timeout=1))
    assert [event.digit for event in events] == ["1", "2", "#"]
    assert all(isinstance(event, Dtmf) for event in events)
    assert session.hangup_cause == "NORMAL_CLEARING"


def _run_on_simulator(script, presses: str = "") -> None:
    """Dial a one-DID simulator whose dialplan hands the call to ``script(session)`` on an
    outbound socket; return when the call and the socket are gone."""
    from cti.simulator import SwitchSimulator
    from cti.simulator.parties import SimulatedCaller

    done: list = []

    class Script:
        def __init__(self, session: OutboundSession) -> None:
            self.session = session

        def run(self) -> None:
            try:
                script(self.session)
            finally:
                done.append(self.session)

    server = OutboundServer(Script, "127.0.0.1", 0)
    server.start()
    simulator = SwitchSimulator(
        dialplan_xml=f"""<include><context name="default"><extension name="s">
        <condition field="destination_number" expression="^7000$">
          <action application="socket" data="127.0.0.1:{server.address[1]} async full"/>
        </condition></extension></context></include>""",
        speed=0.1,
    ).start()
    try:
        caller = SimulatedCaller(simulator)
        if presses:
            caller.press_after_answer(0.1, presses)
        caller.dial("7000")
        assert caller.wait_destroyed(timeout=10)
        with gevent.Timeout(5):
            while server.sessions or not done:
                gevent.sleep(0.01)
    finally:
        server.stop(timeout=1)
        simulator.stop()


def _hang_up_and_linger(session: OutboundSession) -> None:
    session.hangup()
    with gevent.Timeout(5):
        while not session.lingering:
            gevent.sleep(0.01)


def test_subscribe_nixes_unused_kinds_and_execute_many_runs_in_order():
    """On the switch simulator (which follows mod_event_socket's myevents and nixevent):
    after ``subscribe({"DTMF"})`` the socket carries only the completions, the hangup and
    the DTMF; ``execute_many`` runs its applications in order and returns every completion."""
    seen: list = []

    def script(session: OutboundSession) -> None:
        seen.append(session)
        session.subscribe({"DTMF"}, linger=True)
        seen.append(session.execute_many([("set", "first=1"), ("set", "second=2"), ("answer", "")]))
        digits = "1 1 1 3000 # silence_stream://500 silence_stream://200 pressed \\d"
        seen.append(session.execute("play_and_get_digits", digits))
        _hang_up_and_linger(session)

    _run_on_simulator(script, presses="7")
    session, completions, digits = seen
    assert [c.application for c in completions] == ["set", "set", "answer"]
    # Each ran after the one before it: its completion carries the variables set so far.
    assert completions[0].variable("second") is None
    assert completions[1].variable("first") == "1" and completions[1].variable("second") == "2"
    assert completions[2].application_response
    assert digits.variable("pressed") == "7"
    events = list(session.iter_events(timeout=1))
    names = [event.name for event in events]
    assert set(names) <= {
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "DTMF",
    }, names
    completed = [e.application for e in events if isinstance(e, ChannelExecuteComplete)]
    assert completed[:4] == ["set", "set", "answer", "play_and_get_digits"], completed
    assert "DTMF" in names
    assert session.hangup_cause == "NORMAL_CLEARING"


def test_multiset_and_api_commands_ahead_of_applications_bring_no_extra_events():
    """``multiset`` sets several variables with one completion; an api command sent in the
    applications' write runs before them and brings no event; a failed one is only logged."""
    seen: list = []

    def script(session: OutboundSession) -> None:
        session.subscribe(set(), linger=True)
        seen.append(
            session.execute_many(
                [("multiset", "first=1 second=two"), ("multiset", "^^;third=3;fourth=4")],
                api_first=(f"uuid_setvar {session.uuid} ringback tone_stream://%(1000,4000,425)",),
            )
        )
        seen.append(
            session.execute_many(
                [("answer", "")], api_first=("uuid_setvar no-such-channel ringback x",)
            )
        )
        _hang_up_and_linger(session)
        seen.append(list(session.iter_events(timeout=1)))

    _run_on_simulator(script)
    first, answered, later = seen
    assert [c.application for c in first] == ["multiset", "multiset"]
    assert first[0].variable("ringback") == "tone_stream://%(1000,4000,425)"
    assert first[0].variable("first") == "1" and first[0].variable("second") == "two"
    assert first[1].variable("third") == "3" and first[1].variable("fourth") == "4"
    assert [c.application for c in answered] == ["answer"]
    # One completion per application and nothing for the api commands.
    completed = [e.application for e in later if isinstance(e, ChannelExecuteComplete)]
    assert completed == ["multiset", "multiset", "answer", "socket"], completed
    assert {e.name for e in later} == {
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
    }


def test_subscribe_refuses_kinds_myevents_does_not_send():
    session = OutboundSession.__new__(OutboundSession)
    with pytest.raises(ValueError, match="CHANNEL_HOLD"):
        session.subscribe({"CHANNEL_HOLD"})


@contextlib.contextmanager
def _calling_7000(dialplan: str, *servers: OutboundServer) -> Iterator:
    """A simulator (speed 0.1) with the ``default`` context's ``dialplan`` (extensions) and
    a caller dialling 7000; the simulator and the (started) ``servers`` stopped afterwards."""
    from cti.simulator import SwitchSimulator
    from cti.simulator.parties import SimulatedCaller

    simulator = SwitchSimulator(
        dialplan_xml=f'<include><context name="default">{dialplan}</context></include>',
        speed=0.1,
    ).start()
    try:
        caller = SimulatedCaller(simulator)
        caller.dial("7000")
        yield caller
    finally:
        for server in servers:
            server.stop(timeout=1)
        simulator.stop()


def _hand_over_between_two_servers(first_script, second_script) -> dict:
    """A call that reaches ``first_script`` on one outbound socket (extension 7000) and may
    be sent on to ``second_script`` on another (7001, after which the dialplan notes that
    the socket application returned). Returns what the scripts noted and the channel."""
    noted: dict = {"second_connected": gevent.event.Event()}

    def factory(script):
        class Script:
            def __init__(self, session: OutboundSession) -> None:
                self.session = session

            def run(self) -> None:
                script(self.session, noted)

        return Script

    first = OutboundServer(factory(first_script), "127.0.0.1", 0)
    second = OutboundServer(factory(second_script), "127.0.0.1", 0)
    first.start()
    second.start()
    dialplan = f"""
        <extension name="first"><condition field="destination_number" expression="^7000$">
          <action application="socket" data="127.0.0.1:{first.address[1]} async full"/>
        </condition></extension>
        <extension name="second"><condition field="destination_number" expression="^7001$">
          <action application="socket" data="127.0.0.1:{second.address[1]} async full"/>
          <action application="set" data="fell_through=true"/>
          <action application="hangup"/>
        </condition></extension>"""
    with _calling_7000(dialplan, first, second) as caller:
        assert caller.wait_destroyed(timeout=10), noted
        noted["channel"] = caller.channel
    return noted


def _second_holds_the_call(session: OutboundSession, noted: dict) -> None:
    noted["handed_by"] = session.channel_data.variable("cc_handover")
    session.subscribe(linger=True)
    noted["second_connected"].set()
    gevent.sleep(0.5)
    # Still ours after a while: the park goes on, so the application runs.
    noted["second_ran"] = session.execute("set", "second_ran=true").application
    _hang_up_and_linger(session)


def test_transfer_away_hands_the_call_to_the_next_socket_for_good():
    def first(session: OutboundSession, noted: dict) -> None:
        session.subscribe(linger=True)
        session.execute("answer")
        noted["transferred"] = session.transfer_away("7001", {"cc_handover": "first"})

    noted = _hand_over_between_two_servers(first, _second_holds_the_call)
    assert noted["transferred"] and noted["handed_by"] == "first"
    assert noted["second_ran"] == "set"
    assert noted["channel"].variables.get("fell_through") is None


def test_an_old_socket_closing_after_the_next_one_parked_ends_that_park():
    """As mod_event_socket: a listener that ends clears the channel's CF_CONTROLLED, and the
    park of whichever socket application holds the call ends with it."""

    def first(session: OutboundSession, noted: dict) -> None:
        session.subscribe(linger=True)
        session.execute("answer")
        session.api(f"uuid_transfer {session.uuid} 7001")
        noted["second_connected"].wait(5)
        gevent.sleep(0.1)  # the second socket parks the call

    def second(session: OutboundSession, noted: dict) -> None:
        session.subscribe(linger=True)
        noted["second_connected"].set()
        with gevent.Timeout(5, False):
            while not session.hung_up:
                gevent.sleep(0.05)

    noted = _hand_over_between_two_servers(first, second)
    assert noted["channel"].variables.get("fell_through") == "true"


def _socket_closing_during(playback: str, hold: float, piece_seconds: int = 0) -> tuple:
    """A call on an outbound socket whose script starts ``playback`` (cut at
    ``piece_seconds`` when given, as the daemon's music) and closes the socket at once; after
    ``hold`` real seconds returns (channel up?, playback_ms, fell_through)."""

    class Script:
        def __init__(self, session: OutboundSession) -> None:
            self.session = session

        def run(self) -> None:
            self.session.subscribe(linger=True)
            self.session.execute("answer")
            bound = (f"uuid_setvar {self.session.uuid} playback_timeout_sec {piece_seconds}",)
            gevent.spawn(
                self.session.execute_many,
                [("playback", playback)],
                api_first=bound if piece_seconds else (),
            )
            gevent.sleep(0.05)  # the playback runs; then the socket closes

    server = OutboundServer(Script, "127.0.0.1", 0)
    server.start()
    dialplan = f"""
        <extension name="x"><condition field="destination_number" expression="^7000$">
          <action application="socket" data="127.0.0.1:{server.address[1]} async full"/>
          <action application="set" data="fell_through=true"/>
          <action application="park"/>
        </condition></extension>"""
    with _calling_7000(dialplan, server) as caller:
        gevent.sleep(hold)
        channel = caller.channel
        return (
            channel.up,
            channel.variables.get("playback_ms"),
            channel.variables.get("fell_through"),
        )


def test_a_socket_closing_lets_the_running_application_finish_before_the_dialplan_goes_on():
    """mod_event_socket's listener only clears CF_CONTROLLED: the park ends once the running
    application returns, so a 20 s prompt plays to its end (2 s here) and then the dialplan
    goes on (seen on FreeSWITCH 1.10.12)."""
    up, played_ms, fell_through = _socket_closing_during("tone_stream://%(20000,0,440)", 3.0)
    assert up and fell_through == "true"
    assert int(played_ms) >= 19_000


def test_a_socket_closing_during_endless_music_leaves_the_caller_in_it():
    """An endless playback (local_stream) never returns by itself: the caller hears it on,
    and the dialplan does not go on, however long the socket has been gone."""
    up, _played_ms, fell_through = _socket_closing_during("local_stream://moh", 1.5)
    assert up and fell_through is None


def test_endless_music_cut_in_pieces_lets_the_dialplan_go_on_after_the_piece():
    """The daemon's music: ``playback_timeout_sec`` ends each piece (20 s; 2 s here), and
    the dialplan goes on once the piece is over."""
    up, played_ms, fell_through = _socket_closing_during("local_stream://moh", 3.0, 20)
    assert up and fell_through == "true"
    assert 19_000 <= int(played_ms) <= 21_000
