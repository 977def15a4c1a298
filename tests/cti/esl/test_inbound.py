"""InboundClient against fake switches on 127.0.0.1: recorded replays and scripted peers."""

from __future__ import annotations

import os
import random

import gevent
import gevent.event
import pytest

from cti.esl.events import BackgroundJob, Heartbeat
from cti.esl.inbound import InboundClient
from cti.esl.protocol import AuthenticationError, CommandError

from .fake_switch import ReplayPeer, ScriptedSwitch, event_frame, serve_inbound
from .traces import connection, requires_traces

HEARTBEAT = (
    "Event-Name: HEARTBEAT\nCore-UUID: c1\nEvent-Sequence: {sequence}\n"
    "Event-Info: System%20Ready\nUptime-msec: 1000\nSession-Count: 0\n\n"
)


def wait_until(condition, timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout, AssertionError("condition not met in time")):
        while not condition():
            gevent.sleep(0.01)


@pytest.fixture
def servers():
    started = []
    yield started
    for server in started:
        server.stop(timeout=1)


@requires_traces
def test_recorded_session_auth_api_bgapi_events(servers):
    recorded = connection("auth_ok_and_bad", "c3_main")
    server, peers = serve_inbound(lambda _index: ReplayPeer(recorded))
    servers.append(server)
    client = InboundClient("127.0.0.1", server.server_port, "ClueCon", heartbeat_timeout=None)
    names: list[str] = []
    heartbeats: list[Heartbeat] = []
    client.on("*", lambda event: names.append(event.name))
    client.on("HEARTBEAT", heartbeats.append)
    callbacks: list[BackgroundJob] = []
    client.connect()
    try:
        assert client.api("status").startswith("UP 0 years, 0 days")
        first = client.bgapi(
            "status", callback=callbacks.append, job_uuid="e1765aed-564e-4cc5-bf96-ddf849cb60f0"
        )
        second = client.bgapi("status", job_uuid="d7a1e3c0-0000-4000-8000-000000000001")
        assert client.api("show channels") == "\n0 total.\n"
        assert client.api("show calls as json") == '{"row_count": 0}\n'
        assert client.api("show channels as json") == '{"row_count": 0}\n'
        with pytest.raises(CommandError) as error:
            client.command("blah")
        assert error.value.reply == "-ERR command not found"
        assert client.api("no_such_api_command") == "-ERR no_such_api_command Command not found!\n"
        assert client.api("uuid_kill 00000000-0000-4000-8000-000000000000") == (
            "-ERR No such channel!\n"
        )
        client.api("uuid_getvar 00000000-0000-4000-8000-000000000000 foo")
        assert client.api("version").startswith("FreeSWITCH Version 1.10.12")
        assert client.api("global_getvar hold_music").startswith("tone_stream://")
        client.api("sofia status")
        job = client.job_result(second).get(timeout=5)
        assert isinstance(job, BackgroundJob)
        assert job.job_uuid == second and job.body.startswith(b"UP 0 years")
        assert client.job_result(first).get(timeout=5).job_uuid == first
        wait_until(lambda: callbacks and heartbeats)
        assert callbacks[0].job_uuid == first
        assert client.command("noevents") == "+OK no longer listening for events"
        client.command("event plain HEARTBEAT CHANNEL_CREATE")
        assert client.command("nixevent CHANNEL_CREATE") == "+OK events nixed"
        client.command("noevents")
        wait_until(lambda: len(names) == recorded.events_rx)
        assert names == recorded.event_names
    finally:
        client.stop()
    peer = peers[0]
    peer.finished.wait(5)
    assert peer.commands()[:3] == ["auth ClueCon", "event plain ALL", "api status"]
    bgapi = peer.received[3]
    assert bgapi.command == "bgapi status"
    assert bgapi.raw_headers["Job-UUID"] == "e1765aed-564e-4cc5-bf96-ddf849cb60f0"
    assert peer.commands()[-1] == "exit"
    assert client.parser_stats.bad_frames == 0


@requires_traces
def test_wrong_password_raises_authentication_error(servers):
    server, peers = serve_inbound(
        lambda _i: ReplayPeer(connection("auth_ok_and_bad", "c1_bad_password"))
    )
    servers.append(server)
    client = InboundClient("127.0.0.1", server.server_port, "WrongPassword", heartbeat_timeout=None)
    with pytest.raises(AuthenticationError):
        client.connect()
    assert not client.connected
    assert peers[0].commands() == ["auth WrongPassword"]


def test_reconnects_with_backoff_and_subscribes_again(servers):
    def drop_first(switch):
        if switch.index == 0:
            switch.read_command()  # the filter
            switch.reply("+OK filter added. [Unique-ID]=[u-1]")
            gevent.sleep(0.05)
            switch.sock.close()

    server, peers = serve_inbound(lambda index: ScriptedSwitch(index, after_login=drop_first))
    servers.append(server)
    client = InboundClient(
        "127.0.0.1",
        server.server_port,
        events=["CHANNEL_CREATE", "CUSTOM", "conference::maintenance"],
        filters=[("Unique-ID", "u-1")],
        reconnect_initial=0.05,
        heartbeat_timeout=None,
    )
    connects = []
    client.on_connect(lambda c: connects.append(c.stats.connects))
    client.start()
    try:
        wait_until(lambda: len(peers) >= 2 and client.connected and len(connects) >= 2)
        wait_until(lambda: len(peers[1].received) >= 3)
        for peer in peers[:2]:
            assert peer.received[1].command == (
                "event plain HEARTBEAT BACKGROUND_JOB CHANNEL_CREATE CUSTOM conference::maintenance"
            )
            assert peer.received[2].command == "filter Unique-ID u-1"
        assert client.stats.reconnects >= 1
        assert client.api("status") == "+OK fake\n"
    finally:
        client.stop()


def test_failed_connects_back_off(servers):
    server, peers = serve_inbound(lambda index: ScriptedSwitch(index, password="other"))
    servers.append(server)
    client = InboundClient(
        "127.0.0.1", server.server_port, reconnect_initial=0.05, heartbeat_timeout=None
    )
    client.start()
    try:
        wait_until(lambda: client.stats.failed_connects >= 3)
        assert isinstance(client.last_error, AuthenticationError)
        assert not client.connected
    finally:
        client.stop()


def test_backoff_is_exponential_with_jitter_and_capped():
    client = InboundClient(reconnect_initial=0.5, reconnect_max=8, rng=random.Random(7))
    delays = [client.backoff_delay(attempt) for attempt in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert delays[-1] >= 4
    assert len({round(delay, 6) for delay in delays}) == len(delays)  # jittered


def test_missing_heartbeat_forces_reconnect(servers):
    def heartbeat_on_second(switch):
        if switch.index >= 1:
            switch.sock.sendall(event_frame(HEARTBEAT.format(sequence=switch.index)))

    server, peers = serve_inbound(lambda i: ScriptedSwitch(i, after_login=heartbeat_on_second))
    servers.append(server)
    client = InboundClient(
        "127.0.0.1", server.server_port, heartbeat_timeout=0.3, reconnect_initial=0.05
    )
    beats = []
    client.on("HEARTBEAT", beats.append)
    client.start()
    try:
        wait_until(lambda: client.stats.heartbeat_timeouts >= 1 and len(peers) >= 2)
        wait_until(lambda: beats)
        assert client.stats.reconnects >= 1
    finally:
        client.stop()


def test_reader_sheds_when_handlers_fall_behind(servers):
    total = 60

    def flood(switch):
        switch.sock.sendall(
            b"".join(event_frame(HEARTBEAT.format(sequence=n)) for n in range(total))
        )

    server, _peers = serve_inbound(lambda i: ScriptedSwitch(i, after_login=flood))
    servers.append(server)
    release = gevent.event.Event()
    handled = []

    def slow_handler(event):
        release.wait()
        handled.append(event.sequence)

    client = InboundClient("127.0.0.1", server.server_port, queue_size=5, heartbeat_timeout=None)
    client.on("HEARTBEAT", slow_handler)
    client.connect()
    try:
        wait_until(lambda: client.stats.events_queued + client.stats.events_shed == total)
        # The reader is not stuck behind the handler: commands still get their replies.
        assert client.api("status") == "+OK fake\n"
        assert client.stats.events_shed == total - client.stats.events_queued
        assert client.stats.events_shed >= total - 6
        release.set()
        wait_until(lambda: len(handled) == client.stats.events_queued)
        assert handled == sorted(handled)
    finally:
        client.stop()


def test_from_url():
    client = InboundClient.from_url("esl://:s%40cret@10.0.0.5:8022")
    assert (client.host, client.port, client.password) == ("10.0.0.5", 8022, "s@cret")


@pytest.mark.freeswitch
def test_real_freeswitch_api_bgapi_and_bad_password():
    url = os.environ["FREESWITCH_ESL_URL"]
    client = InboundClient.from_url(url, heartbeat_timeout=None)
    client.connect()
    try:
        assert "UP" in client.api("status")
        job_uuid = client.bgapi("status")
        job = client.job_result(job_uuid).get(timeout=10)
        assert job.job_uuid == job_uuid and b"UP" in job.body
        assert client.api("no_such_api_command").startswith("-ERR")
    finally:
        client.stop()
    wrong = InboundClient.from_url(url, heartbeat_timeout=None)
    wrong.password = wrong.password + "-wrong"
    with pytest.raises(AuthenticationError):
        wrong.connect()
