"""The key guarantee: with PostgreSQL stopped, no fact is lost, and each lands exactly once.

The shared server on 5432 is used by everyone, so this test runs its own throwaway cluster
(initdb in a temporary directory, a free port, trust authentication), migrates it, and runs
`manage.py run_persister` against it in a separate process. It stops and restarts that
cluster while the daemon side keeps emitting facts.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest

from cti.facts import FactWriter

ROOT = Path(__file__).resolve().parents[3]


def _postgres_bin() -> Path | None:
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(Path(directory, tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(directory)
    return None


PG_BIN = _postgres_bin()
pytestmark = pytest.mark.skipif(
    PG_BIN is None, reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateCluster:
    """A PostgreSQL cluster of our own; initdb refuses root, so root runs it as postgres."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
            "-E", "UTF8", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def connect(self, dbname: str = "postgres"):
        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, connect_timeout=3
        )

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    directory = Path(tempfile.mkdtemp(prefix="cc-facts-pg-"))
    private = PrivateCluster(directory)
    try:
        private.init()
        private.start()
        yield private
    finally:
        try:
            private.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(directory, ignore_errors=True)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


SEQUENCED_TABLES = ("cti_agentstatechange", "cti_surveyscore", "cti_recording")


def stored_keys(cluster: PrivateCluster) -> list[tuple[str, int]] | None:
    """Every (subject, seq) stored in the sequenced tables, or None while the server is down."""
    try:
        with cluster.connect("facts") as connection, connection.cursor() as cursor:
            keys: list[tuple[str, int]] = []
            for table in SEQUENCED_TABLES:
                cursor.execute(f"SELECT subject, seq FROM {table}")
                keys.extend(cursor.fetchall())
            cursor.execute("SELECT call_uuid FROM cti_callrecord")
            keys.extend((row[0], -1) for row in cursor.fetchall())
        connection.close()
        return keys
    except psycopg2.OperationalError:
        return None


def emit_round(writer: FactWriter, label: str, calls: int) -> list[tuple[str, int]]:
    """Emit a realistic mix of facts; return the keys they must be stored under."""
    keys: list[tuple[str, int]] = []
    kinds = {"agent_state_changed", "survey_scored", "recording_saved"}
    newest = writer.redis.xrevrange(writer.stream, count=1)
    after = f"({newest[0][0]}" if newest else "-"
    for index in range(calls):
        call_uuid = f"{label}-{index}"
        agent = index % 3 + 1
        writer.agent_state_changed(agent_id=agent, old="ready", new="talking", duration=5.0)
        writer.recording_saved(
            call_uuid=call_uuid, path=f"/r/{call_uuid}.wav", duration=30.0, size=480, channels=2
        )
        writer.survey_scored(call_uuid=call_uuid, score=index % 4 + 1, agent_id=agent)
        writer.call_ended(
            call_uuid=call_uuid, direction="inbound", caller="13800000000", callee="95555",
            started_at=time.time() - 40, hangup_cause="NORMAL_CLEARING", agent_id=agent,
        )  # fmt: skip
        keys.append((call_uuid, -1))
    for _, fields in writer.redis.xrange(writer.stream, min=after):
        if fields["kind"] in kinds:
            keys.append((fields["subject"], int(fields["seq"])))
    return keys


def test_postgres_down_loses_nothing_and_every_fact_lands_once(cluster, redis_client, settings):
    connection = cluster.connect()
    connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
    connection.cursor().execute("CREATE DATABASE facts")
    connection.close()
    environment = {
        **os.environ,
        "DATABASE_URL": cluster.url("facts"),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    }
    stream = f"test:facts:{uuid.uuid4().hex[:8]}"
    writer = FactWriter(redis_client, stream=stream)
    log_path = cluster.directory / "persister.log"
    with log_path.open("w") as log:
        persister = subprocess.Popen(
            [
                sys.executable, "manage.py", "run_persister", "--stream", stream,
                "--dead-letter-stream", f"{stream}:dead", "--consumer", "outage-test",
                "--block-ms", "100", "--max-backoff", "0.5", "--trim-interval", "1",
            ],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        # Migrating while the persister starts saves a Django start-up; until the tables
        # exist the persister has nothing to store anyway.
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "cti", "--noinput"],
            cwd=ROOT, env=environment, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        expected = emit_round(writer, "before", calls=10)
        wait_for(
            lambda: sorted(stored_keys(cluster) or []) == sorted(expected), 30, "the first facts"
        )

        cluster.stop()
        last_before = redis_client.xrevrange(stream, count=1)[0][0]
        during = emit_round(writer, "during", calls=10)
        group = "persister"
        # The persister read the new facts and could not commit them: pending, not lost.
        wait_for(lambda: redis_client.xpending(stream, group)["pending"] > 0, 10, "a failed batch")
        time.sleep(1.0)  # a few failed retries while the server stays down
        # Every fact emitted during the outage is still waiting in the stream.
        assert len(redis_client.xrange(stream, min=f"({last_before}")) == 10 * 4
        assert stored_keys(cluster) is None  # the server really is down

        cluster.start()
        all_keys = sorted(expected + during)
        wait_for(lambda: sorted(stored_keys(cluster) or []) == all_keys, 30, "the facts to land")
        # Exactly once: the unique constraints hold and no key is missing or doubled.
        stored = stored_keys(cluster) or []
        assert len(stored) == len(set(stored)) == 10 * 4 * 2
        wait_for(lambda: redis_client.xpending(stream, group)["pending"] == 0, 10, "the acks")
        assert redis_client.xlen(f"{stream}:dead") == 0
    finally:
        persister.send_signal(signal.SIGTERM)
        try:
            persister.wait(timeout=15)
        except subprocess.TimeoutExpired:
            persister.kill()
            persister.wait()
    output = log_path.read_text()
    assert persister.returncode == 0, output
    assert "80 stored, 0 dead-lettered" in output, output
    assert "database failures" in output and " 0 database failures" not in output, output
