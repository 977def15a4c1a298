"""Requests travel from the web tier to the daemon and replies come back."""

import threading

from cti.control.client import CommandClient
from cti.control.protocol import Command, CommandRejected, Reason, Reply
from cti.control.server import CommandServer


def serve_in_thread(server: CommandServer):
    stop = threading.Event()
    server.ensure_group()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def test_accepted_and_rejected_replies_reach_the_sender(redis_client):
    server = CommandServer(redis_client, consumer="t1", block_ms=100)

    def ready(command: Command) -> Reply:
        return Reply.ok("ready", agent=command.user_id)

    def busy(command: Command) -> Reply:
        raise CommandRejected(Reason.ILLEGAL_STATE, "talking")

    server.register("ready", ready)
    server.register("busy", busy)
    stop, thread = serve_in_thread(server)
    try:
        client = CommandClient(redis_client, timeout_seconds=5)
        reply = client.send(Command("ready", user_id=42, roles=("agent",)))
        assert reply.accepted and reply.data == {"agent": 42}
        reply = client.send(Command("busy", user_id=42, args={"reason": "meal"}))
        assert not reply.accepted and reply.code == "illegal_state"
        reply = client.send(Command("fly", user_id=42))
        assert reply.code == "unknown_action"
    finally:
        stop.set()
        thread.join(5)


def test_bad_arguments_are_a_rejection_not_a_crash(redis_client):
    server = CommandServer(redis_client, consumer="t1", block_ms=100)
    server.register("busy", lambda command: Reply.ok(command.args["reason"]))
    stop, thread = serve_in_thread(server)
    try:
        reply = CommandClient(redis_client).send(Command("busy", user_id=1))
        assert reply.code == "bad_arguments"
    finally:
        stop.set()
        thread.join(5)


def test_silent_daemon_gives_a_timeout_reply(redis_client):
    reply = CommandClient(redis_client, timeout_seconds=0.2).send(Command("ready", user_id=1))
    assert not reply.accepted and reply.code == "timeout"


def test_request_read_before_a_crash_is_handled_after_restart(redis_client):
    first = CommandServer(redis_client, consumer="d1")
    first.ensure_group()
    redis_client.xadd("cc:commands", Command("ready", user_id=5, request_id="r1").to_fields())
    # Read without handling (the daemon died in between): still pending for d1.
    redis_client.xreadgroup("cti", "d1", {"cc:commands": ">"}, count=10)
    restarted = CommandServer(redis_client, consumer="d1")
    restarted.register("ready", lambda c: Reply.ok())
    assert restarted.poll_once(pending=True) == 1
    assert redis_client.lpop("cc:reply:r1") is not None
