"""FrameParser against every recorded FreeSWITCH byte, whole, in recorded and random chunks."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.esl.events import EventParseError, parse_event
from cti.esl.frames import Frame, FrameParser, percent_decode

from .traces import CONNECTIONS, connection, requires_traces

pytestmark = requires_traces


def _names(frames: list[Frame]) -> list[str]:
    names = []
    for frame in frames:
        if frame.is_event:
            event = parse_event(frame)
            names.append(f"{event.name} {event.subclass}" if event.subclass else event.name)
    return names


def _check_against_scenario(recorded, parser: FrameParser, frames: list[Frame]) -> None:
    assert parser.stats.bad_frames == 0
    assert parser.stats.bytes == recorded.bytes_rx
    assert len(frames) == recorded.frames_rx
    assert sum(frame.is_event for frame in frames) == recorded.events_rx
    assert _names(frames) == recorded.event_names
    assert [f.content_type for f in frames if not f.is_event] == recorded.other_frame_types
    assert parser.buffered == 0


@pytest.mark.parametrize("recorded", CONNECTIONS, ids=str)
def test_whole_recording_in_one_chunk(recorded):
    parser = FrameParser()
    frames = parser.feed(recorded.rx_bytes())
    _check_against_scenario(recorded, parser, frames)


@pytest.mark.parametrize("recorded", CONNECTIONS, ids=str)
def test_recorded_tcp_chunks(recorded):
    parser = FrameParser()
    frames = []
    for chunk in recorded.rx_chunks():
        frames.extend(parser.feed(chunk))
    _check_against_scenario(recorded, parser, frames)
    assert parser.stats.events == recorded.events_rx


@pytest.mark.parametrize(
    "scenario,name",
    [
        ("auth_ok_and_bad", "c3_main"),
        ("outbound_socket_ivr", "outbound"),
        ("json_format", "inbound"),
    ],
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_chunk_sizes_give_the_same_frames(scenario, name, data):
    recorded = connection(scenario, name)
    payload = recorded.rx_bytes()
    expected = [(f.content_type, f.body) for f in FrameParser().feed(payload)]
    sizes = data.draw(st.lists(st.integers(1, 5000), min_size=1, max_size=60))
    parser = FrameParser()
    frames: list[Frame] = []
    offset = 0
    index = 0
    while offset < len(payload):
        size = sizes[index % len(sizes)]
        frames.extend(parser.feed(payload[offset : offset + size]))
        offset += size
        index += 1
    assert [(f.content_type, f.body) for f in frames] == expected
    assert parser.stats.bad_frames == 0


def test_byte_at_a_time():
    recorded = connection("auth_ok_and_bad", "c3_main")
    payload = recorded.rx_bytes()
    parser = FrameParser()
    frames = []
    for index in range(len(payload)):
        frames.extend(parser.feed(payload[index : index + 1]))
    assert len(frames) == recorded.frames_rx


def test_connect_reply_has_content_type_last_and_no_body():
    frames = FrameParser().feed(connection("outbound_socket_ivr", "outbound").rx_bytes())
    reply = frames[0]
    assert reply.content_type == "command/reply"
    assert reply.body == b""
    assert reply.raw_headers["Reply-Text"] == "%2BOK%0A"
    assert reply.reply_text == "+OK\n"
    assert reply.headers["Socket-Mode"] == "async"
    assert reply.headers["Channel-Name"] == "sofia/internal/caller@127.0.0.1:5070"
    # Case-insensitive lookup, like FreeSWITCH's own.
    assert reply.headers["channel-name"] == "sofia/internal/caller@127.0.0.1:5070"


def test_api_response_body_followed_directly_by_next_frame():
    frames = FrameParser().feed(connection("outbound_socket_ivr", "outbound").rx_bytes())
    api = [frame for frame in frames if frame.content_type == "api/response"]
    assert [frame.body for frame in api] == [b"12"]


def test_disconnect_notices_and_replies():
    frames = FrameParser().feed(connection("auth_ok_and_bad", "c1_bad_password").rx_bytes())
    assert [frame.content_type for frame in frames] == [
        "auth/request",
        "command/reply",
        "text/disconnect-notice",
    ]
    assert frames[1].reply_text == "-ERR invalid"
    assert frames[2].body.startswith(b"Disconnected, goodbye.")
    assert len(frames[2].body) == 67


def test_linger_notice_headers_are_not_encoded():
    frames = FrameParser().feed(connection("outbound_socket_ivr", "outbound").rx_bytes())
    notices = [frame for frame in frames if frame.content_type == "text/disconnect-notice"]
    assert [notice.headers["Content-Disposition"] for notice in notices] == ["linger", "disconnect"]
    assert notices[0].headers["Linger-Time"] == "-1"
    assert notices[0].headers["Channel-Name"] == "sofia/internal/caller@127.0.0.1:5070"


def test_bgapi_reply_carries_job_uuid():
    frames = FrameParser().feed(connection("auth_ok_and_bad", "c3_main").rx_bytes())
    replies = [frame for frame in frames if "Job-UUID" in frame.headers]
    assert replies[1].headers["Job-UUID"] == "d7a1e3c0-0000-4000-8000-000000000001"
    assert replies[1].reply_text == "+OK Job-UUID: d7a1e3c0-0000-4000-8000-000000000001"


# --- bad input ------------------------------------------------------------------------

GOOD = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
EVENT = b"Event-Name: HEARTBEAT\nCore-UUID: abc\nEvent-Info: System%20Ready\n\n"
GOOD_EVENT = b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(EVENT), EVENT)


def test_garbage_before_a_frame_is_counted_and_skipped(caplog):
    parser = FrameParser()
    with caplog.at_level(logging.WARNING, logger="cti.esl.frames"):
        frames = parser.feed(b"this is not ESL\n\n" + GOOD)
    assert [frame.reply_text for frame in frames] == ["+OK"]
    assert parser.stats.bad_frames == 1
    assert "dropped bad ESL frame" in caplog.text


def test_invalid_content_length_is_counted_and_parsing_continues():
    parser = FrameParser()
    frames = parser.feed(b"Content-Type: api/response\nContent-Length: twelve\n\n" + GOOD)
    assert [frame.content_type for frame in frames] == ["command/reply"]
    assert parser.stats.bad_frames == 1
    frames = parser.feed(b"Content-Type: api/response\nContent-Length: -3\n\n" + GOOD_EVENT)
    assert [frame.content_type for frame in frames] == ["text/event-plain"]
    assert parser.stats.bad_frames == 2


def test_too_short_content_length_loses_only_that_frame():
    parser = FrameParser()
    short = b"Content-Type: api/response\nContent-Length: 3\n\n+OK done\n"
    frames = parser.feed(short + GOOD + GOOD_EVENT)
    # The api/response comes out cut ("+OK"), the rest of its body is glued to the next
    # frame's first line: skipped up to the next real header, so both later frames survive.
    assert [frame.content_type for frame in frames] == [
        "api/response",
        "command/reply",
        "text/event-plain",
    ]
    assert frames[0].body == b"+OK"
    assert parser.stats.bad_frames == 1
    assert parse_event(frames[2]).name == "HEARTBEAT"


def test_too_long_content_length_is_detected_by_the_event_parser():
    parser = FrameParser()
    wrong = b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(EVENT) + 20, EVENT)
    frames = parser.feed(wrong + GOOD_EVENT + GOOD_EVENT)
    events = []
    for frame in frames:
        try:
            events.append(parse_event(frame))
        except EventParseError:
            pass
    # The first event swallowed 20 bytes of the second, whose remains (header tail, body)
    # are dropped as two bad blocks; the third event is intact.
    assert len(events) == 1
    assert parser.stats.bad_events == 1
    assert parser.stats.bad_frames == 2
    assert events[0].name == "HEARTBEAT"


def test_truncated_stream_is_counted_on_close(caplog):
    parser = FrameParser()
    assert parser.feed(GOOD_EVENT[:-10]) == []
    assert parser.buffered == len(GOOD_EVENT) - 10
    with caplog.at_level(logging.WARNING, logger="cti.esl.frames"):
        parser.close()
    assert parser.stats.bad_frames == 1
    assert "ended inside a frame" in caplog.text
    # The parser is usable again after close().
    assert len(parser.feed(GOOD)) == 1


def test_invalid_percent_encoding_is_counted_and_kept_literally(caplog):
    parser = FrameParser()
    body = b"Event-Name: CUSTOM\nEvent-Subclass: x%3A%3Ay\nBad-Value: 50%zz%2\n\n"
    frames = parser.feed(
        b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body) + GOOD
    )
    assert len(frames) == 2
    event = parse_event(frames[0])
    assert event.subclass == "x::y"
    with caplog.at_level(logging.WARNING, logger="cti.esl.frames"):
        assert event.get("Bad-Value") == "50%zz%2"
    assert parser.stats.bad_encodings == 1
    assert "invalid percent-encoding" in caplog.text


def test_percent_decode():
    assert percent_decode("sofia/internal/caller%40127.0.0.1%3A5070") == (
        "sofia/internal/caller@127.0.0.1:5070"
    )
    assert percent_decode("a+b%20c") == "a+b c"
    assert percent_decode("%E4%B8%AD") == "中"
    assert percent_decode("plain") == "plain"


def test_command_mode_parses_client_commands():
    parser = FrameParser(commands=True)
    frames = parser.feed(
        b"auth ClueCon\n\napi status\n\nsendmsg\ncall-command: execute\n"
        b"execute-app-name: playback\nexecute-app-arg: tone_stream://%(500,0,440)\n\n"
        b"sendevent CUSTOM\nEvent-Subclass: x\nContent-Length: 2\n\nhi"
    )
    assert [frame.command for frame in frames] == [
        "auth ClueCon",
        "api status",
        "sendmsg",
        "sendevent CUSTOM",
    ]
    assert frames[2].raw_headers["execute-app-arg"] == "tone_stream://%(500,0,440)"
    assert frames[3].body == b"hi"
    assert parser.stats.bad_frames == 0


def test_oversized_header_block_is_dropped():
    from cti.esl import frames as frames_module

    parser = FrameParser()
    parser.feed(b"X" * (frames_module.MAX_HEADER_BLOCK + 10))
    assert parser.stats.bad_frames == 1
    assert parser.buffered == 0
    assert len(parser.feed(GOOD)) == 1
