"""The switch's records of failover calls become CDRs: every one, once, in stream order."""

from __future__ import annotations

from types import SimpleNamespace

import gevent
import pytest

from cti.failover import FailoverRecords
from cti.notify import CALL_KEY
from cti.simulator.api import ApiCommands
from freeswitch_conf.failover import REALM, FailoverRecord
from tests.cti.test_handover import facts, live_call, recovery


class SwitchDb:
    """The simulator's mod_db behind an ESL connection's ``api``: the answers the daemon
    reads, ``-ERR no reply`` for an empty output included."""

    def __init__(self) -> None:
        self.commands = ApiCommands.__new__(ApiCommands)
        self.commands.db_rows = {}
        self.asked: list[str] = []

    def api(self, command: str) -> str:
        self.asked.append(command)
        name, _, argument = command.partition(" ")
        assert name == "db"
        output = self.commands.db(argument, None)
        return output or "-ERR no reply\n"

    def insert(self, call_uuid: str, value: str) -> None:
        assert self.api(f"db insert/{REALM}/{call_uuid}/{value}") == "+OK"


def record(
    start: int = 1_000_000,
    answer: int = 0,
    caller: str = "13800000001",
    failed_over: int = 0,
    bridged: int = 0,
) -> str:
    end = start + 30_000_000
    return f"v1|{start}|{answer}|{end}|NORMAL_CLEARING|{failed_over}|{bridged}|12329|{caller}"


@pytest.fixture
def collector(redis_client):
    rec = recovery(redis_client, [])
    store = SimpleNamespace(agent=lambda agent_id: {})
    rec.services.acd = SimpleNamespace(router=SimpleNamespace(store=store))
    rec.services.recording_saved = lambda *args: None
    return FailoverRecords(rec.services, rec)


def test_every_record_is_written_then_deleted_past_the_lists_four_kilobytes(
    redis_client, collector
):
    switch = SwitchDb()
    uuids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(250)]  # ~9 KB of keys
    for number, call_uuid in enumerate(uuids):
        switch.insert(call_uuid, record(start=1_700_000_000_000_000 + number))

    assert collector.collect_all(switch.api) == 250
    assert sorted(f["call_uuid"] for f in facts(redis_client, "failover_ended")) == uuids
    assert switch.commands.db_rows == {}
    assert sum(command.startswith("db list") for command in switch.asked) >= 3
    assert collector.collect_all(switch.api) == 0  # nothing twice


def test_a_record_is_parsed_with_the_switchs_times_and_numbers(redis_client, collector):
    switch = SwitchDb()
    switch.insert("c1", record(start=1_700_000_000_000_000, answer=1_700_000_005_000_000,
                               caller="+86 138|0000/0001", failed_over=1_700_000_006_000_000,
                               bridged=1_700_000_010_000_000))  # fmt: skip
    assert collector.collect(switch.api, "c1")
    (fact,) = facts(redis_client, "failover_ended")
    assert fact["talk_seconds"] == 20.0  # with the ring group, to the end at 30 s
    assert (fact["started_at"], fact["answered_at"]) == (1_700_000_000.0, 1_700_000_005.0)
    assert (fact["caller"], fact["callee"], fact["node"]) == ("+86 138|0000/0001", "12329", "cti-2")
    (entry,) = redis_client.xrange("cc:facts")
    assert float(entry[1]["at"]) == 1_700_000_030.0  # the call's end, not the reading's time

    unanswered = FailoverRecord.parse("c2", "v1|2000000|0|1000000|NO_ANSWER|||||")
    assert unanswered.answered_at is None and unanswered.ended_at == 2.0  # never before start
    assert unanswered.talk_seconds == 0
    # The group answered 10 s before the end: its talk. A bridge before the failover was a
    # daemon's agent's: no talk with the group.
    group = FailoverRecord.parse("c5", record(failed_over=10_000_000, bridged=21_000_000))
    assert group.talk_seconds == 10.0
    earlier = FailoverRecord.parse("c6", record(failed_over=10_000_000, bridged=5_000_000))
    assert earlier.group_answered_at is None and earlier.talk_seconds == 0
    for bad in ("v2|1|0|2|X|0|0|1|2", "v1|1|0|2", "v1||0|2|X|0|0|1|2", "v1|x|0|2|X|0|0|1|2"):
        with pytest.raises(ValueError):
            FailoverRecord.parse("c3", bad)


def test_an_unreadable_record_is_logged_and_dropped_not_read_forever(
    redis_client, collector, caplog
):
    switch = SwitchDb()
    switch.insert("old", "v0 something else")
    switch.insert("good", record())
    assert collector.collect_all(switch.api) == 1
    assert [f["call_uuid"] for f in facts(redis_client, "failover_ended")] == ["good"]
    assert switch.commands.db_rows == {}
    assert "unreadable record of old dropped: 'v0 something else'" in caplog.text


def test_a_call_a_daemon_knew_is_closed_from_its_live_record_before_the_switchs_end(
    redis_client, collector
):
    """Its queue exit and CDR come from the live record, then the switch's times."""
    live_call(redis_client, "known", state="queued")
    switch = SwitchDb()
    switch.insert("known", record())
    assert collector.collect(switch.api, "known")

    kinds = [fields["kind"] for _id, fields in redis_client.xrange("cc:facts")]
    assert kinds == ["queue_exited", "call_ended", "failover_ended"]
    (cdr,) = facts(redis_client, "call_ended")
    assert (cdr["queue"], cdr["hangup_by"]) == ("hotline", "failover")
    assert not redis_client.exists(CALL_KEY + "known")


def test_resyncs_and_hangups_reading_at_once_write_each_record_once(redis_client, collector):
    switch = SwitchDb()
    slow_api = switch.api

    def api(command: str) -> str:
        gevent.sleep(0.001)  # a round trip to the switch: the others run meanwhile
        return slow_api(command)

    for number in range(20):
        switch.insert(f"c{number}", record())
    readers = [gevent.spawn(collector.collect_all, api) for _ in range(2)]
    readers += [gevent.spawn(collector.collect, api, f"c{n}") for n in range(0, 20, 3)]
    gevent.joinall(readers, raise_error=True)

    assert sum(reader.value for reader in readers) == 20
    assert len(facts(redis_client, "failover_ended")) == 20
