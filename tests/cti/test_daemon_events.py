"""What reaches the daemon's inbound connection: every leg's hangup, bgapi results, and the
answers of callback and click-to-call legs only (cti.daemon.DAEMON_FILTERS), on the switch
simulator, whose filters follow mod_event_socket's."""

from __future__ import annotations

import gevent

from cti.callbacks import CALLBACK_VARIABLE
from cti.daemon import DAEMON_EVENTS, DAEMON_FILTERS
from cti.dialout import MARK_VARIABLE
from cti.esl.inbound import InboundClient
from cti.simulator import SwitchSimulator

LEGS = {
    "plain": "11111111-0000-4000-8000-000000000001",
    "callback": "11111111-0000-4000-8000-000000000002",
    "dialout": "11111111-0000-4000-8000-000000000003",
}


def test_the_daemon_hears_every_hangup_but_only_tagged_answers():
    simulator = SwitchSimulator(speed=0.1).start()
    for extension in ("1001", "1002", "1003"):
        simulator.add_endpoint(extension, answer_delay=0.2)
    client = InboundClient(
        "127.0.0.1",
        simulator.port,
        "ClueCon",
        events=DAEMON_EVENTS,
        filters=DAEMON_FILTERS,
        heartbeat_timeout=None,
    )
    seen: list[tuple[str, str]] = []
    jobs: list[str] = []
    for name in ("CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"):
        client.on(name, lambda event: seen.append((event.name, event.unique_id)))
    client.connect()
    try:
        tags = {
            "plain": "",
            "callback": f"{CALLBACK_VARIABLE}=c-1,",
            "dialout": f"{MARK_VARIABLE}=true,",
        }
        for (kind, leg), extension in zip(LEGS.items(), ("1001", "1002", "1003")):
            client.bgapi(
                f"originate {{{tags[kind]}origination_uuid={leg}}}user/{extension} &park()",
                lambda job: jobs.append(job.result),
            )
        with gevent.Timeout(10):
            while len(jobs) < 3:
                gevent.sleep(0.02)
        for leg in LEGS.values():
            client.api(f"uuid_kill {leg}")
        with gevent.Timeout(10):
            while sum(name == "CHANNEL_HANGUP_COMPLETE" for name, _ in seen) < 3:
                gevent.sleep(0.02)
        gevent.sleep(0.2)
    finally:
        client.stop()
        simulator.stop()
    assert all(body.startswith("+OK") for body in jobs), jobs
    answered = {leg for name, leg in seen if name == "CHANNEL_ANSWER"}
    hung_up = {leg for name, leg in seen if name == "CHANNEL_HANGUP_COMPLETE"}
    assert answered == {LEGS["callback"], LEGS["dialout"]}
    assert hung_up == set(LEGS.values())
