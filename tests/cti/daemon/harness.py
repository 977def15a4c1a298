"""A whole call center on one machine for end-to-end tests.

The switch simulator runs in the test process (its parties are scripted from the test); the
CTI daemon runs as a real `manage.py run_cti` subprocess, configured only through the
environment, exactly as `make run` starts it. The dialplan the simulator executes is the
project's own, rendered by freeswitch_conf for the daemon's socket.

The test process is not monkey-patched, so waits here use gevent (the simulator's greenlets
must run while the test waits) and never block on Redis for long.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import gevent
import redis

from cti.bench_inbound import free_port
from cti.bench_inbound import write_prompts as write_stand_in_prompts
from cti.control.protocol import COMMAND_STREAM, REPLY_PREFIX, Command, Reply
from cti.simulator.simulator import SwitchSimulator
from freeswitch_conf.render import PUBLIC_DIALPLAN_PATH, RenderContext, render_to_memory

ROOT = Path(__file__).resolve().parents[3]


def render_public_dialplan(
    daemon_port: int,
    dids: list[dict],
    extensions: list[str],
    backup_ports: list[int] = (),
    rejoin_pauses_ms: list[int] = (),
) -> str:
    """The project's public dialplan. Without ``rejoin_pauses_ms`` (the default here, unlike
    production's) a call whose daemon ended goes to the failover group at once."""
    context = RenderContext.from_dict(
        {
            "domain": "cc.test",
            "daemon_socket": f"127.0.0.1:{daemon_port}",
            "backup_daemon_sockets": [f"127.0.0.1:{p}" for p in backup_ports],
            "rejoin_pauses_ms": list(rejoin_pauses_ms),
            "recordings_dir": "/tmp/recordings",
            "dids": dids,
            "agents": [
                {
                    "extension": ext,
                    "employee_number": ext,
                    "name": f"agent {ext}",
                    "sip_password": f"password-{ext}",
                }
                for ext in extensions
            ],
            "ring_group": {
                "extensions": extensions[:2],
                "call_timeout": 20,
                "fallback": "prompt",
                "closing_prompt": "/tmp/closed.wav",
            },
            "gateways": [],
            "event_socket": {
                "listen_ip": "127.0.0.1",
                "listen_port": 8021,
                "password": "ClueCon-test",
                "apply_inbound_acl": "loopback.auto",
            },
        }
    )
    return render_to_memory(context)[PUBLIC_DIALPLAN_PATH]


# Prompts the end-to-end tests need beyond the daemon's own (cti.bench_inbound's list).
EXTRA_PROMPTS = ("main_menu", "welcome_12329", "callback_confirmed")


def write_prompts(directory: Path, seconds: float = 0.5) -> None:
    """Short silent 8 kHz WAVs standing in for the synthesized prompts."""
    write_stand_in_prompts(directory, seconds, extra=EXTRA_PROMPTS)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        gevent.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class DaemonProcess:
    """`manage.py run_cti` with its own node name and socket port."""

    def __init__(
        self,
        redis_url: str,
        esl_port: int,
        socket_port: int,
        node: str,
        workdir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.node = node
        self.socket_port = socket_port
        self.log_path = workdir / f"{node}.log"
        self.env = dict(
            os.environ,
            REDIS_URL=redis_url,
            FREESWITCH_ESL_URLS=f"esl://:ClueCon@127.0.0.1:{esl_port}",
            CTI_SOCKET_PORT=str(socket_port),
            CTI_NODE_NAME=node,
            RECORDINGS_DIR=str(workdir / "recordings"),
            PROMPTS_DIR=str(workdir / "prompts"),
            PYTHONUNBUFFERED="1",
            **(env or {}),
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> DaemonProcess:
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_cti", "--node-name", self.node],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, and wait for the process to end. The wait lets the simulator (greenlets of
        this process) go on: a stopping daemon still talks to the switch."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                gevent.sleep(0.05)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


class Center:
    """Simulator + daemon(s) + a Redis client for assertions and commands."""

    def __init__(self, redis_url: str, workdir: Path, speed: float = 0.2) -> None:
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.workdir = workdir
        self.speed = speed
        self.simulator: SwitchSimulator | None = None
        self.daemons: list[DaemonProcess] = []

    def start(
        self,
        dids: list[dict],
        extensions: list[str],
        daemons: int = 1,
        rejoin_pauses_ms: list[int] = (),
        env: dict[str, str] | None = None,
    ) -> Center:
        """``env``: more settings of the daemons (environment variables)."""
        write_prompts(self.workdir / "prompts")
        ports = [free_port() for _ in range(daemons)]
        dialplan = render_public_dialplan(ports[0], dids, extensions, ports[1:], rejoin_pauses_ms)
        self.simulator = SwitchSimulator(
            port=0,
            dialplan_xml=dialplan,
            speed=self.speed,
            recordings_dir=str(self.workdir / "recordings"),
        ).start()
        for index, port in enumerate(ports):
            daemon = DaemonProcess(
                self.redis_url,
                self.simulator.port,
                port,
                f"test-cti-{index + 1}",
                self.workdir,
                env,
            ).start()
            self.daemons.append(daemon)
        wait_for(lambda: self.redis.get("cc:leader"), 30, what="a daemon to lead")
        self.wait_listening(self.leader())
        return self

    def leader(self) -> DaemonProcess:
        name = self.redis.get("cc:leader")
        return next(d for d in self.daemons if d.node == name)

    def wait_listening(self, daemon: DaemonProcess, timeout: float = 15) -> None:
        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", daemon.socket_port)) == 0

        wait_for(listening, timeout, 0.05, f"{daemon.node} to accept calls")

    def stop(self) -> None:
        for daemon in self.daemons:
            daemon.stop()
        if self.simulator is not None:
            self.simulator.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {d.node}\n{d.log()[-6000:]}" for d in self.daemons)

    def dial(self, user_id: int, number: str) -> str:
        """Click to call from the agent's desk (once the daemon has the configuration);
        returns the call's uuid."""
        reply = wait_for(
            lambda: (r := self.command("dial", user_id, number=number)).accepted and r,
            10,
            what="dial accepted\n" + self.logs(),
        )
        return reply.data["call_uuid"]

    def command(self, action: str, user_id: int, roles=("agent",), timeout=10, **args) -> Reply:
        command = Command(
            action, user_id=user_id, roles=tuple(roles), args=args, request_id=uuid.uuid4().hex
        )
        try:  # as CommandClient does: the group exists before the first request
            self.redis.xgroup_create(COMMAND_STREAM, "cti", id="$", mkstream=True)
        except redis.ResponseError:
            pass
        self.redis.xadd(COMMAND_STREAM, command.to_fields())
        raw = wait_for(
            lambda: self.redis.lpop(REPLY_PREFIX + command.request_id),
            timeout,
            what=f"a reply to {action}",
        )
        return Reply.from_json(raw)

    def wait_call_state(self, call_uuid: str, state: str, timeout: float = 20) -> None:
        """Until the daemon's live record of the call says ``state``."""
        wait_for(
            lambda: self.redis.hget(f"cc:live:call:{call_uuid}", "state") == state,
            timeout,
            what=f"call {call_uuid} {state}\n" + self.logs(),
        )

    def agent_status(self, agent_id: int) -> str:
        return self.redis.hget(f"cc:agent:{agent_id}", "status") or "logged_out"

    def facts(self, kind: str | None = None) -> list[dict]:
        entries = self.redis.xrange("cc:facts")
        facts = [
            {**json.loads(fields["payload"]), "_kind": fields["kind"]} for _id, fields in entries
        ]
        return [f for f in facts if kind is None or f["_kind"] == kind]
