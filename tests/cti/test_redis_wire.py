"""The daemon's lean Redis path (cti/redis_wire.py) returns what redis-py returns, raises
what it raises, and survives connections the server closed."""

from __future__ import annotations

import shutil
import subprocess
import time

import gevent
import pytest
import redis

from cti.notify import BatchingRedis
from cti.redis_wire import WireConnections, WirePipeline


@pytest.fixture
def wire_client(redis_client, settings):
    client = BatchingRedis.from_url(settings.REDIS_URL, decode_responses=True)
    assert client._wire is not None, "TCP with hiredis takes the wire path"
    yield client
    client.close()


def exercise(client) -> list:
    """A spread of commands whose replies redis-py reshapes (dicts, sets, floats, tuples,
    booleans, stream entries)."""
    client.delete("w:s", "w:h", "w:z", "w:set", "w:x", "w:n")
    pipe = client.pipeline(transaction=False)
    pipe.hset("w:h", mapping={"a": 1, "b": "é"})
    pipe.zadd("w:z", {"m1": 1.5, "m2": 2})
    pipe.sadd("w:set", "x", "y")
    pipe.incr("w:n")
    queued = pipe.execute()
    entry = client.xadd("w:x", {"k": "v"})
    script = client.register_script("return {KEYS[1], ARGV[1], 7}")
    return [
        queued,
        client.set("w:s", "1"),
        client.set("w:s", "2", nx=True),
        client.get("w:s"),
        client.get("w:missing"),
        client.hgetall("w:h"),
        client.hgetall("w:missing"),
        client.hmget("w:h", "a", "b", "c"),
        client.zrange("w:z", 0, -1, withscores=True),
        client.zscore("w:z", "m1"),
        client.smembers("w:set"),
        client.exists("w:s", "w:h", "w:missing"),
        client.expire("w:s", 100),
        [(entry_id == entry, fields) for entry_id, fields in client.xrange("w:x")],
        script(keys=["k"], args=["v"]),
    ]


def test_replies_are_those_redis_py_gives(redis_client, wire_client):
    assert exercise(wire_client) == exercise(redis_client)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_a_unix_socket_takes_the_wire_path_too(tmp_path):
    """`make run`'s embedded Redis listens on a unix socket."""
    path = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(path),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        plain = redis.Redis.from_url(f"unix://{path}?db=2", decode_responses=True)
        client = BatchingRedis.from_url(f"unix://{path}?db=2", decode_responses=True)
        assert client._wire is not None
        assert exercise(client) == exercise(plain)
        client.close()
        plain.close()
    finally:
        server.terminate()
        server.wait(10)


def test_errors_raise_as_with_redis_py(redis_client, wire_client):
    wire_client.set("w:s", "1")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        wire_client.hget("w:s", "x")

    pipe = wire_client.pipeline(transaction=False)
    pipe.set("w:t", "1").hget("w:s", "x").get("w:t")
    with pytest.raises(redis.ResponseError, match=r"Command # 2 \(HGET w:s x\) of pipeline"):
        pipe.execute()
    # The commands around the failed one ran.
    assert wire_client.get("w:t") == "1"
    pipe.set("w:t", "2").hget("w:s", "x").get("w:t")
    first, failed, last = pipe.execute(raise_on_error=False)
    assert first is True and isinstance(failed, redis.ResponseError) and last == "2"


def test_a_script_redis_lost_is_loaded_again(wire_client):
    script = wire_client.register_script("return ARGV[1] .. '!'")
    assert script(args=["a"]) == "a!"
    wire_client.script_flush()
    assert script(args=["b"]) == "b!"


def test_transactions_and_watch_take_redis_py(wire_client):
    pipe = wire_client.pipeline()
    assert isinstance(pipe, WirePipeline)
    pipe.set("w:n", 1).incr("w:n")
    assert pipe.execute() == [True, 2]

    def add_one(transaction):
        value = int(transaction.get("w:n"))
        transaction.multi()
        transaction.set("w:n", value + 1)

    wire_client.transaction(add_one, "w:n")
    assert wire_client.get("w:n") == "3"


def test_a_connection_the_server_closed_is_replaced(redis_client, wire_client):
    wire_client.set("w:s", "before")
    (idle,) = wire_client._wire._idle
    idle_id = wire_client.client_id()
    # CLIENT ID ran on the same (only) idle connection.
    assert wire_client._wire._idle == [idle]
    redis_client.client_kill_filter(_id=idle_id)
    gevent.sleep(0.05)
    assert wire_client.get("w:s") == "before"
    assert wire_client._wire._idle and wire_client._wire._idle[0] is not idle


def test_greenlets_wait_for_a_free_connection_and_then_give_up(settings):
    client = BatchingRedis.from_url(settings.REDIS_URL, decode_responses=True)
    wire = client._wire = WireConnections(client, size=1, wait_seconds=0.3)
    try:
        # Another greenlet holds the only connection and gives it back in time.
        wire._take_slot()
        gevent.spawn_later(0.1, wire._slots.release)
        assert client.get("w:missing") is None
        # ...and now for longer than a command waits.
        wire._take_slot()
        with pytest.raises(redis.ConnectionError, match="no Redis connection free after 0.3 s"):
            client.get("w:missing")
        wire._slots.release()
        assert client.get("w:missing") is None
    finally:
        client.close()
