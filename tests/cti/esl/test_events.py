"""Typed events from the recorded traces: names, typed properties, lazy lookups, bad input."""

from __future__ import annotations

import json
import logging

import pytest

from cti.esl import events as ev
from cti.esl.events import EventParseError, parse_event
from cti.esl.frames import Frame, FrameParser

from .traces import CONNECTIONS, connection, requires_traces

pytestmark = requires_traces


def _events(scenario: str, name: str) -> list[ev.Event]:
    frames = FrameParser().feed(connection(scenario, name).rx_bytes())
    return [parse_event(frame) for frame in frames if frame.is_event]


def _plain_frame(body: bytes) -> Frame:
    payload = b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)
    (frame,) = FrameParser().feed(payload)
    return frame


@pytest.mark.parametrize("recorded", CONNECTIONS, ids=str)
def test_lazy_lookup_agrees_with_full_split(recorded):
    """Every header found by the byte search equals the one from splitting the block."""
    frames = [f for f in FrameParser().feed(recorded.rx_bytes()) if f.is_event]
    for frame in frames:
        full = dict(parse_event(frame).headers)
        fresh = parse_event(frame)
        for index, (name, value) in enumerate(full.items()):
            if index % 7 == 0:  # new event now and then: exercise the search, not the split
                fresh = parse_event(frame)
            assert fresh.get(name) == value, (recorded, name)
        assert fresh.get("No-Such-Header") is None
        assert full.get("Event-Name") == fresh.name


def test_every_event_is_typed():
    for recorded in CONNECTIONS:
        for frame in FrameParser().feed(recorded.rx_bytes()):
            if frame.is_event:
                event = parse_event(frame)
                assert not isinstance(event, ev.UnknownEvent)
                assert type(event) is ev.event_class(event.name, event.subclass)


def test_outbound_ivr_events_are_typed():
    events = _events("outbound_socket_ivr", "outbound")
    park = events[0]
    assert isinstance(park, ev.ChannelPark)
    assert park.unique_id == "3fdc403d-73df-428c-8364-83b7055d8ae6"
    assert park.caller_number == "caller"
    assert park.destination_number == "7000"
    assert park.channel_name == "sofia/internal/caller@127.0.0.1:5070"
    digits = [event.digit for event in events if isinstance(event, ev.Dtmf)]
    assert digits == ["1", "2", "#"]
    dtmf = next(event for event in events if isinstance(event, ev.Dtmf))
    assert dtmf.dtmf_source == "RTP"
    assert dtmf.dtmf_duration == 2240
    completes = [event for event in events if isinstance(event, ev.ChannelExecuteComplete)]
    assert [event.application for event in completes] == [
        "answer",
        "playback",
        "play_and_get_digits",
        "set",
        "socket",
    ]
    digits_complete = completes[2]
    assert digits_complete.application_uuid == "5ee0c0de-0000-4000-8000-000000000003"
    assert digits_complete.variable("fs_traces_digits") == "12"
    assert completes[1].application_data == "tone_stream://%(500,0,440)"
    assert completes[1].application_response == "FILE PLAYED"
    hangup = next(event for event in events if isinstance(event, ev.ChannelHangupComplete))
    assert hangup.hangup_cause == "NORMAL_CLEARING"
    assert hangup.billsec == 4
    states = [event.channel_state for event in events if isinstance(event, ev.ChannelState)]
    assert states == ["CS_HANGUP", "CS_REPORTING"]
    answer = next(event for event in events if isinstance(event, ev.ChannelAnswer))
    assert answer.answer_state == "answered"
    assert answer.call_state == "EARLY"  # CALLSTATE EARLY->ACTIVE follows the answer
    assert answer.sequence is not None and answer.timestamp_us > 1_700_000_000_000_000


def test_callstate_bridge_and_other_leg():
    events = _events("originate_and_uuid_bridge", "inbound")
    callstates = [e for e in events if isinstance(e, ev.ChannelCallstate)]
    assert (callstates[0].original_call_state, callstates[0].call_state) == ("DOWN", "RINGING")
    bridge = next(e for e in events if isinstance(e, ev.ChannelBridge))
    assert bridge.bridge_a_uuid == "d7d03189-6168-4729-9143-8c0f54898a62"
    assert bridge.other_leg_uuid == "4ee28ed8-7392-459f-96b6-3f2fcc1d9809"
    assert any(isinstance(e, ev.ChannelUnbridge) for e in events)
    assert any(isinstance(e, ev.ChannelOriginate) for e in events)
    assert any(isinstance(e, ev.ChannelOutgoing) for e in events)
    assert any(isinstance(e, ev.ChannelProgress) for e in events)
    assert any(isinstance(e, ev.ChannelUnpark) for e in events)
    assert any(isinstance(e, ev.Heartbeat) and e.uptime_msec for e in events)
    job = next(e for e in events if isinstance(e, ev.BackgroundJob))
    assert job.job_uuid == "612663c5-7c32-4020-b7d4-9a6c20ebe312"
    assert job.job_command == "originate"
    assert job.result == "+OK 4ee28ed8-7392-459f-96b6-3f2fcc1d9809\n"
    assert not job.is_error


def test_background_job_errors_and_bodies():
    events = _events("originate_failures_and_kill", "inbound")
    jobs = [e for e in events if isinstance(e, ev.BackgroundJob)]
    assert [job.body for job in jobs] == [
        b"-ERR USER_BUSY\n",
        b"-ERR NORMAL_TEMPORARY_FAILURE\n",
        b"-ERR NO_ANSWER\n",
    ]
    assert all(job.is_error for job in jobs)
    status = [e for e in _events("auth_ok_and_bad", "c3_main") if isinstance(e, ev.BackgroundJob)]
    assert status[1].job_uuid == "d7a1e3c0-0000-4000-8000-000000000001"
    assert status[0].body.startswith(b"UP 0 years")
    api = [e for e in _events("auth_ok_and_bad", "c3_main") if isinstance(e, ev.Api)]
    assert (api[0].api_command, api[-1].api_command, api[-1].api_command_argument) == (
        "status",
        "sofia",
        "status",
    )


def test_hold_record_playback():
    events = _events("hold_transfer_record", "inbound")
    assert any(isinstance(e, ev.ChannelHold) and e.call_state == "HELD" for e in events)
    assert any(isinstance(e, ev.ChannelUnhold) for e in events)
    record = next(e for e in events if isinstance(e, ev.RecordStart))
    assert record.file_path == "/tmp/fs_traces_x.wav"
    assert any(isinstance(e, ev.RecordStop) for e in events)
    playback = next(e for e in events if isinstance(e, ev.PlaybackStart))
    assert playback.file_path.startswith("tone_stream://")
    assert any(isinstance(e, ev.PlaybackStop) for e in events)


def test_duplicate_headers_resolve_first_wins():
    events = _events("hold_transfer_record", "inbound")
    command = next(e for e in events if e.name == "COMMAND")
    # The re-fired event carries a second base header set named PRIVATE_COMMAND.
    assert command.get("Event-Calling-Function") == "switch_ivr_broadcast"
    assert dict(command.headers)["Event-Name"] == "COMMAND"


def test_custom_events():
    conference = [e for e in _events("conference_three_way", "inbound") if e.name == "CUSTOM"]
    assert all(isinstance(e, ev.ConferenceMaintenance) for e in conference)
    assert conference[0].subclass == "conference::maintenance"
    assert conference[0].action == "conference-create"
    assert conference[0].conference_name == "3way"
    assert conference[0].unique_id is None
    added = next(e for e in conference if e.action == "add-member")
    assert added.member_id == "1" and added.unique_id is not None
    assert {"mute-member", "unmute-member", "kick-member", "conference-destroy"} <= {
        e.action for e in conference
    }
    callcenter = [e for e in _events("callcenter", "inbound") if e.name == "CUSTOM"]
    assert all(isinstance(e, ev.CallcenterInfo) for e in callcenter)
    assert callcenter[0].cc_action == "agent-add"
    assert callcenter[0].agent == "agent1@default"
    bridge_end = next(e for e in callcenter if e.cc_action == "bridge-agent-end")
    assert bridge_end.cc_hangup_cause == "SUCCESS"
    assert bridge_end.queue == "support@default"


def test_json_events_match_the_plain_typing():
    events = _events("json_format", "inbound")
    assert all(event.content_type == "text/event-json" for event in events)
    create = next(e for e in events if isinstance(e, ev.ChannelCreate))
    assert create.caller_number == "caller"
    assert create.channel_name == "sofia/internal/caller@127.0.0.1:5070"
    job = next(e for e in events if isinstance(e, ev.BackgroundJob))
    assert job.body.startswith(b"uuid,direction,created")
    assert "_body" not in job.headers
    matched = next(e for e in events if e.variable("DP_MATCH") is not None)
    assert matched.variable_list("DP_MATCH") == ["DELAYED NEGOTIATION", "DELAYED NEGOTIATION"]
    codec = next(e for e in events if e.name == "CODEC")
    raw = codec.body  # no body
    assert raw == b""


def test_json_duplicate_keys_first_wins():
    body = json.dumps({"Event-Name": "CODEC", "Unique-ID": "u1"})[:-1] + ', "Unique-ID": "u2"}'
    frame = Frame("text/event-json", body.encode())
    event = parse_event(frame)
    assert event.unique_id == "u1"
    assert dict(event.headers)["Unique-ID"] == "u1"


def test_json_escaped_values_are_decoded():
    body = json.dumps({"Event-Name": "CUSTOM", "Event-Subclass": "a::b", "X": 'say "hi"\n'})
    event = parse_event(Frame("text/event-json", body.encode()))
    assert (event.name, event.subclass, event.get("X")) == ("CUSTOM", "a::b", 'say "hi"\n')
    assert isinstance(event, ev.CustomEvent)


def test_plain_and_json_arrays_read_the_same():
    plain = parse_event(
        _plain_frame(b"Event-Name: CHANNEL_STATE\nvariable_x: ARRAY%3A%3Aa%7C%3Ab\n\n")
    )
    assert plain.variable_list("x") == ["a", "b"]
    assert plain.variable_list("missing") == []


def test_xml_event():
    body = (
        b"<event><headers><Event-Name>DTMF</Event-Name><Unique-ID>u1</Unique-ID>"
        b"<DTMF-Digit>%23</DTMF-Digit></headers><Content-Length>2</Content-Length>"
        b"<body>hi</body></event>"
    )
    event = parse_event(Frame("text/event-xml", body))
    assert isinstance(event, ev.Dtmf)
    assert (event.digit, event.unique_id, event.body) == ("#", "u1", b"hi")


def test_connect_reply_is_channel_data():
    frames = FrameParser().feed(connection("outbound_socket_ivr", "outbound").rx_bytes())
    data = parse_event(frames[0])
    assert isinstance(data, ev.ChannelData)
    assert data.unique_id == "3fdc403d-73df-428c-8364-83b7055d8ae6"
    assert data.caller_name == "sipp caller"
    assert data.destination_number == "7000"
    assert data.variable("sip_from_user") == "caller"


def test_unknown_event_name_is_counted_and_returned(caplog):
    frame = _plain_frame(b"Event-Name: SOMETHING_NEW\nUnique-ID: u1\n\n")
    with caplog.at_level(logging.INFO, logger="cti.esl.events"):
        event = parse_event(frame)
    assert isinstance(event, ev.UnknownEvent)
    assert event.name == "SOMETHING_NEW" and event.unique_id == "u1"
    assert frame.stats.unknown_events == 1
    assert frame.stats.events == 1
    assert "SOMETHING_NEW" in caplog.text


@pytest.mark.parametrize(
    "frame",
    [
        Frame("text/event-plain", b"Unique-ID: u1\n\n"),
        Frame("text/event-plain", b"\n\n"),
        Frame("text/event-json", b"{not json"),
        Frame("text/event-json", b"[1, 2]"),
        Frame("text/event-json", b'{"Unique-ID": "u"}'),
        Frame("text/event-xml", b"<event><headers>"),
        Frame("command/reply", b""),
        Frame("text/event-plain", b"Event-Name: HEARTBEAT\n\nleftover without length"),
    ],
    ids=["no-name", "empty", "bad-json", "json-array", "json-no-name", "bad-xml", "reply", "tail"],
)
def test_unparseable_events_are_counted_and_raise(frame, caplog):
    with caplog.at_level(logging.WARNING, logger="cti.esl.events"):
        with pytest.raises(EventParseError):
            parse_event(frame)
    assert frame.stats.bad_events == 1
    assert "unparseable" in caplog.text


def test_inner_body_ending_in_blank_line_is_not_mistaken_for_headers():
    body = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 18\n\nUnique-ID: fake\n\n\n"
    frame = _plain_frame(body)
    event = parse_event(frame)
    assert event.unique_id is None
    assert event.body == b"Unique-ID: fake\n\n\n"
    assert isinstance(event, ev.BackgroundJob) and event.job_uuid == "j1"
