"""End-to-end inbound benchmark: calls through the switch simulator, the daemon and the persister.

``measure_inbound`` builds a whole center on this machine and drives open-loop traffic
through it:

- the configuration (agents with their user accounts, one agent group, one queue, one DID
  whose flow is the queue code, or a copy of the shipped hotline IVR flow for the "ivr"
  variant) is written with the Django models of the bench database and published to Redis,
  exactly as the admin screens do;
- the switch simulator runs in this process with the project's rendered public dialplan;
  one simulated phone per agent answers after ``answer_delay`` simulated seconds and hangs up
  after ``talk_time``; callers arrive as a Poisson process in *real* time (open loop: an
  arrival never waits for an earlier call), listen, and press a key in the survey;
- the CTI daemon (``manage.py run_cti``) and the fact persister (``manage.py
  run_persister``) run as subprocesses on ``redis_url`` and ``database_url``.

Each call goes DID -> daemon (outbound socket) -> queue -> ACD reservation -> bridge to the
agent -> recording, agent number announced -> agent hangs up -> survey -> hangup -> facts.

The offered rate ramps up in steps. A step is judged on the calls that arrived in its steady
window (after a warm-up), a grace period after the window: it *sustains* its rate when at
least 95 % of them reached an agent and ended, at most 1 % ended without reaching one, and
the live calls sampled during the window did not grow (last quarter minus first quarter at
most 10 % of the arrivals, or 3). At the first failing step the ramp bisects between the
last sustained rate and the failing one. The reported rate is the completion rate of the
best sustained window, never the target. After the load the persister drains the
stream, and every fact in the stream is looked up in PostgreSQL; a fact that is not there,
or a call the simulator placed that never produced a CDR, counts as lost.

Django must be set up by the caller on the database ``database_url`` names (the bench
worker does that). Everything the run creates in the database is deleted before it returns.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gevent
import redis

from cti.control.protocol import COMMAND_STREAM, REPLY_PREFIX, Command
from cti.facts import DEFAULT_DEAD_LETTER_STREAM, DEFAULT_STREAM
from cti.persister import stored_moment
from cti.simulator.channel import Channel
from cti.simulator.events import SwitchEvent
from cti.simulator.parties import SimulatedCaller
from cti.simulator.simulator import SwitchSimulator

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PERSISTER_GROUP = "persister"
ESL_PASSWORD = "ClueCon"
# Names the benchmark's queue, and so its whole center, in the database.
QUEUE_PREFIX = "bench-inbound-"
IVR_FLOW_PREFIX = "bench-ivr-"

# Every prompt file the daemon may play on this path; stand-ins are short silent WAVs.
DAEMON_PROMPTS = (
    "survey_intro",
    "survey_thanks",
    "invalid_choice",
    "leave_message",
    "system_busy",
    "queue_closed",
    "agent_unavailable",
    "agent_number_before",
    "agent_number_after",
    "queue_position_before",
    "queue_position_after",
    "queue_wait_before",
    "queue_wait_after",
    "goodbye",
    "message_saved",
    "transferring_to_agent",
    *(f"say/{digit}" for digit in range(10)),
)

# A step sustains its offered rate when these hold over its steady window.
MIN_COMPLETED_SHARE = 0.95
MAX_FAILED_SHARE = 0.01
MAX_BACKLOG_GROWTH_SHARE = 0.10


# -- the center ------------------------------------------------------------------------


@dataclass(frozen=True)
class CenterShape:
    """What the benchmark's center looks like and how its simulated parties behave.

    Durations are simulated seconds except ``wrap_up_seconds`` (the daemon's ACD runs on
    real time). ``speed`` is the simulator's time factor.
    """

    agents: int
    speed: float = 1.0
    answer_delay: float = 0.05
    talk_time: float = 0.3
    prompt_seconds: float = 0.05
    wrap_up_seconds: int = 1
    ring_timeout_seconds: int = 60
    survey_key: str = "1"
    # "queue": the DID's flow is the queue code (no IVR). "ivr": the shipped hotline flow
    # (greeting, blacklist check, business hours, menu) where the caller presses menu_key.
    variant: str = "queue"
    menu_key: str = "0"
    # A caller still up after this long (simulated) gives up: a stuck call ends as failed.
    caller_patience: float = 120.0


@dataclass
class ProvisionedCenter:
    """The rows one run created, so they can be removed afterwards."""

    token: str
    did: str
    queue_code: str
    group_id: int
    queue_id: int
    did_id: int
    agent_ids: list[int]
    user_ids: list[int]
    extensions: list[str]
    # The DID's flow: the queue code, or the IVR flow made for the run.
    flow: str = ""


def _free_extensions(count: int, taken: set[str], start: int = 700_000) -> list[str]:
    extensions: list[str] = []
    number = start
    while len(extensions) < count:
        candidate = str(number)
        if candidate not in taken:
            extensions.append(candidate)
        number += 1
    return extensions


def provision_center(shape: CenterShape) -> ProvisionedCenter:
    """Create the agents, their group, the queue and the DID; publish the snapshot."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from telephony import models as m
    from telephony.snapshot import publish_snapshot

    token = uuid.uuid4().hex[:8]
    queue_code = f"{QUEUE_PREFIX}{token}"
    taken = set(m.Agent.objects.values_list("extension", flat=True)) | set(
        m.Agent.objects.values_list("employee_number", flat=True)
    )
    extensions = _free_extensions(shape.agents, taken)
    existing_dids = set(m.DID.objects.values_list("number", flat=True))
    did = next(
        number for number in (f"9530{n:04d}" for n in range(10_000)) if number not in existing_dids
    )
    user_model = get_user_model()
    with transaction.atomic():
        # Bulk creation skips the snapshot signals and password hashing; one publish follows.
        users = user_model.objects.bulk_create(
            # "!" marks an unusable password: these accounts can never log in to the web.
            user_model(username=f"bench-{token}-{extension}", password="!bench")
            for extension in extensions
        )
        group = m.AgentGroup.objects.create(name=f"bench inbound {token}")
        agents = m.Agent.objects.bulk_create(
            m.Agent(
                employee_number=extension,
                name=f"bench {extension}",
                extension=extension,
                user=user,
                wrap_up_seconds=shape.wrap_up_seconds,
            )
            for extension, user in zip(extensions, users, strict=True)
        )
        m.GroupMembership.objects.bulk_create(
            m.GroupMembership(agent=agent, group=group, position=index + 1)
            for index, agent in enumerate(agents)
        )
        queue = m.Queue.objects.create(
            code=queue_code,
            name=f"bench {token}",
            group=group,
            strategy="longest_idle",
            ring_timeout_seconds=shape.ring_timeout_seconds,
            announce_interval_seconds=30,
            max_wait_seconds=600,
            leave_message_key="",
        )
        flow = queue_code
        if shape.variant == "ivr":
            flow = publish_ivr_flow(token, queue_code)
        did_row = m.DID.objects.create(number=did, name="bench", flow=flow, language="zh")
    publish_snapshot()
    return ProvisionedCenter(
        token=token,
        did=did,
        queue_code=queue_code,
        group_id=group.id,
        queue_id=queue.id,
        did_id=did_row.id,
        agent_ids=[agent.id for agent in agents],
        user_ids=[user.id for user in users],
        extensions=extensions,
        flow=flow,
    )


SHIPPED_IVR_FLOW = ROOT / "ivr_scripts" / "flows" / "hotline_12329.json"


def ivr_flow_definition(code: str, queue_code: str) -> dict[str, Any]:
    """The shipped hotline flow under another code, its agent option sending to our queue."""
    definition = json.loads(SHIPPED_IVR_FLOW.read_text(encoding="utf-8"))
    definition["code"] = code
    definition["name"] = f"bench {code}"
    for node in definition["nodes"].values():
        if node.get("type") == "queue":
            # Our agents have no skills: the shipped flow asks for housing-fund agents.
            node["queue"] = queue_code
            node["skills"] = []
    return definition


def flow_prompt_ids(definition: dict[str, Any]) -> set[str]:
    """Every prompt id a flow may play (plain ids; files and tone streams are left out)."""
    found: set[str] = set()
    for node in definition["nodes"].values():
        for key, value in node.items():
            if key.endswith("prompts") and isinstance(value, list):
                found.update(item for item in value if isinstance(item, str))
    return found


def publish_ivr_flow(token: str, queue_code: str) -> str:
    """Save the run's copy of the shipped flow as the admin screens do and publish it."""
    from ivr.services import save_flow_version
    from ivr.snapshot import publish_flow_snapshot

    code = f"{IVR_FLOW_PREFIX}{token}"
    save_flow_version(ivr_flow_definition(code, queue_code))
    publish_flow_snapshot()
    return code


def _chunks(items: list[Any], size: int = 2_000) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def remove_center(center: ProvisionedCenter, call_uuids: list[str], publish: bool = True) -> None:
    """Delete the configuration rows and every history row of the run's calls and agents."""
    from django.contrib.auth import get_user_model

    from cti import models as history
    from telephony import models as m
    from telephony.snapshot import publish_snapshot

    for chunk in _chunks(call_uuids):
        for model in (
            history.CallRecord,
            history.CallLeg,
            history.QueueEntry,
            history.Recording,
            history.SurveyScore,
            history.IvrPath,
        ):
            model.objects.filter(call_uuid__in=chunk).delete()
    for chunk in _chunks(center.agent_ids):
        history.AgentStateChange.objects.filter(agent_id__in=chunk).delete()
    m.DID.objects.filter(id=center.did_id).delete()
    if center.flow.startswith(IVR_FLOW_PREFIX):
        from ivr import models as ivr_models
        from ivr.snapshot import publish_flow_snapshot

        ivr_models.Flow.objects.filter(code=center.flow).delete()
        publish_flow_snapshot()
    m.Queue.objects.filter(id=center.queue_id).delete()
    m.GroupMembership.objects.filter(group_id=center.group_id).delete()
    m.Agent.objects.filter(id__in=center.agent_ids).delete()
    m.AgentGroup.objects.filter(id=center.group_id).delete()
    get_user_model().objects.filter(id__in=center.user_ids).delete()
    if publish:
        publish_snapshot()


def remove_stale_centers() -> int:
    """Remove what runs that were killed (at their timeout) left in the database."""
    from django.contrib.auth import get_user_model

    from cti import models as history
    from telephony import models as m

    removed = 0
    for queue in m.Queue.objects.filter(code__startswith=QUEUE_PREFIX):
        token = queue.code[len(QUEUE_PREFIX) :]
        did = m.DID.objects.filter(flow=queue.code).first()
        center = ProvisionedCenter(
            token=token,
            did=did.number if did else "",
            queue_code=queue.code,
            group_id=queue.group_id,
            queue_id=queue.id,
            did_id=did.id if did else 0,
            flow=did.flow if did else "",
            agent_ids=list(
                m.GroupMembership.objects.filter(group_id=queue.group_id).values_list(
                    "agent_id", flat=True
                )
            ),
            user_ids=list(
                get_user_model()
                .objects.filter(username__startswith=f"bench-{token}-")
                .values_list("id", flat=True)
            ),
            extensions=[],
        )
        calls = list(
            history.CallRecord.objects.filter(queue=queue.code).values_list("call_uuid", flat=True)
        )
        remove_center(center, calls, publish=False)
        removed += 1
    return removed


def write_prompts(directory: Path, seconds: float, extra: Iterable[str] = ()) -> None:
    """Silent 8 kHz WAVs standing in for the synthesized prompts, in both languages."""
    for language in ("zh", "en"):
        for prompt in sorted({*DAEMON_PROMPTS, *extra}):
            path = directory / language / f"{prompt}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            with wave.open(str(path), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(8000)
                wav.writeframes(b"\0\0" * int(8000 * seconds))


def render_dialplan(daemon_port: int, did: str, flow: str, extensions: list[str]) -> str:
    """The project's public dialplan, sending the DID to the daemon's socket."""
    from freeswitch_conf.render import PUBLIC_DIALPLAN_PATH, RenderContext, render_to_memory

    ring_group = extensions[:2]
    context = RenderContext.from_dict(
        {
            "domain": "cc.bench",
            "daemon_socket": f"127.0.0.1:{daemon_port}",
            "backup_daemon_sockets": [],
            "recordings_dir": "/tmp/recordings",
            "dids": [{"number": did, "flow": flow, "language": "zh"}],
            "agents": [
                {
                    "extension": extension,
                    "employee_number": extension,
                    "name": f"agent {extension}",
                    "sip_password": f"password-{extension}",
                }
                for extension in ring_group
            ],
            "ring_group": {
                "extensions": ring_group,
                "call_timeout": 20,
                "fallback": "prompt",
                "closing_prompt": "/tmp/closed.wav",
            },
            "gateways": [],
            "event_socket": {
                "listen_ip": "127.0.0.1",
                "listen_port": 8021,
                "password": "ClueCon-bench",
                "apply_inbound_acl": "loopback.auto",
            },
        }
    )
    return render_to_memory(context)[PUBLIC_DIALPLAN_PATH]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ManagedProcess:
    """A `manage.py` command run as a subprocess with its own log file."""

    def __init__(self, arguments: list[str], env: dict[str, str], log_path: Path) -> None:
        self.arguments = arguments
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> ManagedProcess:
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *self.arguments],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def peak_rss_mb(self) -> float | None:
        """``VmHWM`` (the kernel's resident-memory high-water mark) in MB, if still running."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used so far."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, characters: int = 3_000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            # Polled with gevent sleeps: the in-process simulator must keep serving meanwhile.
            while self.process.poll() is None and time.monotonic() < deadline:
                gevent.sleep(0.05)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` with gevent sleeps until it is truthy; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        gevent.sleep(interval)


# -- the callers -------------------------------------------------------------------------


@dataclass
class CallOutcome:
    """One placed call, by real (monotonic) times."""

    uuid: str
    placed_at: float
    bridged_at: float | None = None
    ended_at: float | None = None

    @property
    def reached_agent(self) -> bool:
        return self.bridged_at is not None


class BenchCaller(SimulatedCaller):
    """A caller that notes when it reached an agent and ended, and answers the survey."""

    # What it and SimulatedCaller act on; the other fifty-odd events of a call are not made.
    followed_events = frozenset(
        {"CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_DESTROY", "CHANNEL_BRIDGE"}
    )

    def __init__(
        self, simulator: SwitchSimulator, number: str, shape: CenterShape, outcome: CallOutcome
    ) -> None:
        super().__init__(simulator, caller_id_number=number, user=number)
        self.survey_key = shape.survey_key
        self.menu_key = shape.menu_key
        self.outcome = outcome
        self.on_end: Callable[[BenchCaller], None] | None = None

    def _on_event(self, event: SwitchEvent) -> None:
        super()._on_event(event)
        if event.name == "CHANNEL_BRIDGE" and self.outcome.bridged_at is None:
            self.outcome.bridged_at = time.monotonic()
        elif event.name == "CHANNEL_DESTROY" and self.outcome.ended_at is None:
            self.outcome.ended_at = time.monotonic()
            if self.on_end is not None:
                self.on_end(self)

    def on_prompt(self, channel: Channel, path: str) -> None:
        # Only the prompt is kept, not the list of every prompt: the load is long.
        if "survey_intro" in path:
            self.press(self.survey_key)
        elif "main_menu" in path:
            self.press(self.menu_key)


class OpenLoopLoad:
    """Poisson arrivals in real time at a rate that can change between steps."""

    def __init__(
        self, simulator: SwitchSimulator, did: str, shape: CenterShape, seed: int = 1
    ) -> None:
        self.simulator = simulator
        self.did = did
        self.shape = shape
        self.random = random.Random(seed)
        self.outcomes: list[CallOutcome] = []
        self.live: dict[str, BenchCaller] = {}
        self.rate = 0.0
        self._greenlet: gevent.Greenlet | None = None
        self._number = 0

    def start(self, rate: float) -> None:
        self.rate = rate
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def _run(self) -> None:
        next_at = time.monotonic()
        while True:
            next_at += self.random.expovariate(self.rate)
            # Open loop: when the process falls behind, arrivals are placed at once (the
            # schedule is never shifted), and the offered rate actually achieved is reported.
            gevent.sleep(max(0.0, next_at - time.monotonic()))
            self.place()

    def place(self) -> None:
        self._number += 1
        number = f"1390{self._number:07d}"
        outcome = CallOutcome(uuid="", placed_at=time.monotonic())
        caller = BenchCaller(self.simulator, number, self.shape, outcome)
        caller.on_end = self._ended
        caller.hangup_after_answer(self.shape.caller_patience)
        caller.dial(self.did, context="public")
        # The daemon knows the call by the caller channel's uuid, drawn by dial().
        outcome.uuid = caller.uuid or ""
        self.outcomes.append(outcome)
        if outcome.ended_at is None:
            self.live[outcome.uuid] = caller

    def _ended(self, caller: BenchCaller) -> None:
        self.live.pop(caller.outcome.uuid, None)

    def live_count(self) -> int:
        return len(self.live)

    def hang_up_all(self) -> int:
        callers = list(self.live.values())
        for caller in callers:
            caller.hangup("NORMAL_CLEARING")
        return len(callers)


# -- steps -------------------------------------------------------------------------------


@dataclass
class Window:
    """The steady part of one ramp step, observed: its bounds and live-call samples."""

    target_cps: float
    start: float
    end: float
    live_samples: list[int]


@dataclass
class StepResult:
    """One ramp step: the calls that arrived in its steady window and what became of them."""

    target_cps: float
    window_seconds: float
    offered: int
    completed: int
    failed: int
    unfinished: int
    live_first_quarter: float
    live_last_quarter: float
    offered_cps: float
    completed_cps: float
    flow_p50_s: float | None
    flow_p99_s: float | None
    sustained: bool


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def observe_window(load: OpenLoopLoad, seconds: float, every: float = 0.25) -> Window:
    """Sample the live calls while the load runs for ``seconds``."""
    start = time.monotonic()
    samples: list[int] = []
    while time.monotonic() - start < seconds:
        samples.append(load.live_count())
        gevent.sleep(min(every, max(0.0, start + seconds - time.monotonic())))
    samples.append(load.live_count())
    return Window(load.rate, start, time.monotonic(), samples)


def judge_window(outcomes: Iterable[CallOutcome], window: Window, judged_at: float) -> StepResult:
    """What became, by ``judged_at``, of the calls that arrived during the window.

    A call *completed* when it reached an agent and ended; it *failed* when it ended without
    reaching one; otherwise it is unfinished. Judging a grace period after the window lets
    the last arrivals finish; a system that does not keep up leaves them unfinished.
    """
    offered = completed = failed = 0
    flow_times: list[float] = []
    for outcome in outcomes:
        if not window.start <= outcome.placed_at < window.end:
            continue
        offered += 1
        if outcome.ended_at is None or outcome.ended_at > judged_at:
            continue
        if outcome.reached_agent:
            completed += 1
            flow_times.append(outcome.ended_at - outcome.placed_at)
        else:
            failed += 1
    seconds = window.end - window.start
    quarter = max(1, len(window.live_samples) // 4)
    first = sum(window.live_samples[:quarter]) / quarter
    last = sum(window.live_samples[-quarter:]) / quarter
    sustained = (
        offered > 0
        and completed >= MIN_COMPLETED_SHARE * offered
        and failed <= MAX_FAILED_SHARE * offered
        and last - first <= max(3.0, MAX_BACKLOG_GROWTH_SHARE * offered)
    )
    return StepResult(
        target_cps=round(window.target_cps, 2),
        window_seconds=round(seconds, 2),
        offered=offered,
        completed=completed,
        failed=failed,
        unfinished=offered - completed - failed,
        live_first_quarter=round(first, 1),
        live_last_quarter=round(last, 1),
        offered_cps=round(offered / seconds, 2),
        completed_cps=round(completed / seconds, 2),
        flow_p50_s=_round(_percentile(flow_times, 0.5)),
        flow_p99_s=_round(_percentile(flow_times, 0.99)),
        sustained=sustained,
    )


def ramp_rates(target_cps: float, start_cps: float, factor: float) -> list[float]:
    """Geometric steps from ``start_cps`` up to ``target_cps`` (which is the last step)."""
    rates = []
    rate = min(start_cps, target_cps)
    while rate < target_cps * 0.999:
        rates.append(round(rate, 2))
        rate *= factor
    rates.append(float(target_cps))
    return rates


# -- facts -------------------------------------------------------------------------------


@dataclass
class FactAudit:
    """Facts in the stream and which of them are missing from PostgreSQL, by kind."""

    emitted: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    unreadable: int = 0
    call_ended_uuids: set[str] = field(default_factory=set)

    @property
    def lost(self) -> int:
        return sum(self.missing.values())


def read_stream(client: redis.Redis, stream: str, batch: int = 5_000) -> Iterator[dict[str, str]]:
    """Every entry's fields, oldest first, in batches (the client decodes responses)."""
    start = "-"
    while True:
        entries: Any = client.xrange(stream, min=start, max="+", count=batch)
        if not entries:
            return
        for _stream_id, fields in entries:
            yield fields
        last = entries[-1][0]
        if len(entries) < batch:
            return
        start = "(" + last


def audit_facts(client: redis.Redis, stream: str = DEFAULT_STREAM) -> FactAudit:
    """Look every fact of the stream up in the tables the persister writes."""
    from cti import models as history

    audit = FactAudit()
    calls_started: set[str] = set()
    calls_ended: set[str] = set()
    legs: set[str] = set()
    # Queue entries are keyed by their entry time as stored (microseconds), not by a rounded
    # float: rounding both sides to milliseconds disagreed once in about 2,000 entries.
    queue_entered: set[tuple[str, str, Any]] = set()
    queue_closed: dict[str, set[tuple[str, str, Any]]] = {}
    sequenced: dict[str, set[tuple[str, int]]] = {}
    sequenced_models: dict[str, Any] = {
        "agent_state_changed": history.AgentStateChange,
        "recording_saved": history.Recording,
        "survey_scored": history.SurveyScore,
        "ivr_path": history.IvrPath,
        "supervisor_action": history.SupervisorAction,
        "voicemail_left": history.Voicemail,
    }
    for fields in read_stream(client, stream):
        kind = fields.get("kind", "")
        audit.emitted[kind] += 1
        try:
            payload = json.loads(fields["payload"])
            at = float(fields["at"])
            if kind == "call_started":
                calls_started.add(payload["call_uuid"])
            elif kind in ("call_ended", "failover_ended"):  # both complete the CDR
                calls_ended.add(payload["call_uuid"])
            elif kind == "leg_ended":
                legs.add(payload["leg_uuid"])
            elif kind == "queue_entered":
                entered = payload.get("entered_at") or at
                queue_entered.add((payload["call_uuid"], payload["queue"], stored_moment(entered)))
            elif kind in ("queue_exited", "call_abandoned"):
                key = (payload["call_uuid"], payload["queue"], stored_moment(payload["entered_at"]))
                queue_closed.setdefault(kind, set()).add(key)
            elif kind in sequenced_models:
                sequenced.setdefault(kind, set()).add((fields["subject"], int(fields["seq"])))
            else:
                audit.missing[kind] += 1  # a kind the persister has no table for
        except (KeyError, TypeError, ValueError):
            audit.unreadable += 1
            audit.missing[kind] += 1
    audit.call_ended_uuids = calls_ended

    stored_calls: dict[str, bool] = {}
    for chunk in _chunks(sorted(calls_started | calls_ended)):
        rows = history.CallRecord.objects.filter(call_uuid__in=chunk)
        for call_uuid, ended_at in rows.values_list("call_uuid", "ended_at"):
            stored_calls[call_uuid] = ended_at is not None
    audit.missing["call_started"] += sum(1 for u in calls_started if u not in stored_calls)
    audit.missing["call_ended"] += sum(1 for u in calls_ended if not stored_calls.get(u))

    stored_legs: set[str] = set()
    for chunk in _chunks(sorted(legs)):
        stored_legs.update(
            history.CallLeg.objects.filter(leg_uuid__in=chunk).values_list("leg_uuid", flat=True)
        )
    audit.missing["leg_ended"] += len(legs - stored_legs)

    entries: dict[tuple[str, str, Any], bool] = {}
    queue_keys = queue_entered.union(*queue_closed.values())
    for chunk in _chunks(sorted({key[0] for key in queue_keys})):
        queue_rows = history.QueueEntry.objects.filter(call_uuid__in=chunk).values_list(
            "call_uuid", "queue", "entered_at", "exited_at"
        )
        for call_uuid, queue, entered_at, exited_at in queue_rows:
            entries[(call_uuid, queue, entered_at)] = exited_at is not None
    audit.missing["queue_entered"] += sum(1 for key in queue_entered if key not in entries)
    for kind, keys in queue_closed.items():
        # An exit or an abandon is stored when its entry is closed.
        audit.missing[kind] += sum(1 for key in keys if not entries.get(key))

    for kind, sequence_keys in sequenced.items():
        model = sequenced_models[kind]
        subjects = sorted({subject for subject, _seq in sequence_keys})
        stored: set[tuple[str, int]] = set()
        for chunk in _chunks(subjects):
            stored.update(model.objects.filter(subject__in=chunk).values_list("subject", "seq"))
        audit.missing[kind] += len(sequence_keys - stored)
    audit.missing = Counter({kind: count for kind, count in audit.missing.items() if count})
    audit.dead_lettered = int(client.xlen(DEFAULT_DEAD_LETTER_STREAM))
    return audit


def persister_caught_up(client: redis.Redis, stream: str = DEFAULT_STREAM) -> bool:
    """The persister's group has read the last entry and acknowledged everything."""
    try:
        groups = client.xinfo_groups(stream)
        last = client.xinfo_stream(stream)["last-generated-id"]
    except redis.ResponseError:
        return False
    group = next((g for g in groups if g["name"] == PERSISTER_GROUP), None)
    if group is None:
        return False
    return group["last-delivered-id"] == last and int(group["pending"]) == 0


def log_agents_in(client: redis.Redis, user_ids: list[int], timeout: float) -> int:
    """Log every agent in, ready, through the command stream; return how many were accepted."""
    requests: dict[str, int] = {}
    pipe = client.pipeline(transaction=False)
    for user_id in user_ids:
        command = Command("login", user_id=user_id, roles=("agent",), args={"ready": True})
        requests[command.request_id] = user_id
        fields: dict[Any, Any] = command.to_fields()
        pipe.xadd(COMMAND_STREAM, fields)
    pipe.execute()
    accepted = 0
    deadline = time.monotonic() + timeout
    while requests and time.monotonic() < deadline:
        ids = list(requests)
        pipe = client.pipeline(transaction=False)
        for request_id in ids:
            pipe.lpop(REPLY_PREFIX + request_id)
        for request_id, raw in zip(ids, pipe.execute(), strict=True):
            if raw is None:
                continue
            requests.pop(request_id)
            accepted += bool(json.loads(raw).get("accepted"))
        if requests:
            gevent.sleep(0.05)
    return accepted


# -- the measurement ---------------------------------------------------------------------


@dataclass
class Plan:
    """How long each part of a run may take, by profile."""

    rates: list[float]
    warm_up: float
    window: float
    # How long after a window its last arrivals may take to finish before it is judged.
    grace: float
    refine: bool
    load_seconds: float
    drain_seconds: float
    persist_seconds: float


def make_plan(target_cps: float, seconds: float, quick: bool) -> Plan:
    if quick:
        # One short step at a low rate: proves the whole path and the fact accounting.
        warm_up = 1.0
        return Plan(
            rates=[max(1.0, min(target_cps, 5.0))],
            warm_up=warm_up,
            window=max(1.0, seconds - warm_up),
            grace=1.5,
            refine=False,
            load_seconds=seconds + warm_up,
            drain_seconds=3.0,
            persist_seconds=5.0,
        )
    warm_up = 3.0
    # The first step at a sixteenth of the target (19 calls/s for 300): the steps below it
    # proved nothing the quick profile does not, and their time goes to bisecting between
    # the last sustained step and the first failing one instead.
    return Plan(
        rates=ramp_rates(target_cps, start_cps=max(1.0, target_cps / 16), factor=1.5),
        warm_up=warm_up,
        window=7.0,
        grace=warm_up,
        refine=True,
        load_seconds=seconds,
        drain_seconds=10.0,
        persist_seconds=30.0,
    )


def seats_for(rate: float, shape: CenterShape) -> int:
    """Agents enough for ``rate`` calls/s: seat time per call (ring, talk, announcements,
    wrap-up, and some processing) with half again as many in reserve."""
    simulated = shape.answer_delay + shape.talk_time + 8 * shape.prompt_seconds
    seat_seconds = shape.speed * simulated + shape.wrap_up_seconds + 0.3
    return max(10, math.ceil(rate * seat_seconds * 1.5))


class InboundRun:
    """One run of the benchmark: the center, the three processes, the load and the audit.

    ``result`` collects everything reported; ``close()`` stops the processes and removes
    what the run created, whatever happened before.
    """

    def __init__(
        self, redis_url: str, database_url: str, shape: CenterShape, workdir: Path
    ) -> None:
        self.redis_url = redis_url
        self.database_url = database_url
        self.shape = shape
        self.workdir = workdir
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.center: ProvisionedCenter | None = None
        self.simulator: SwitchSimulator | None = None
        self.daemon: ManagedProcess | None = None
        self.persister: ManagedProcess | None = None
        self.load: OpenLoopLoad | None = None
        self.result: dict[str, Any] = {
            "sim_inbound_cps_sustained": None,
            "sim_lost_facts": None,
            "daemon_peak_rss_mb": None,
            "agents": shape.agents,
            "speed": shape.speed,
            "answer_delay_sim_s": shape.answer_delay,
            "talk_time_sim_s": shape.talk_time,
            "wrap_up_s": shape.wrap_up_seconds,
            "variant": shape.variant,
        }

    def start(self) -> str | None:
        """Provision, start persister, simulator and daemon, log the agents in.

        Returns why the center could not be started, or None.
        """
        if int(self.client.connection_pool.connection_kwargs.get("db", 0)) == 0:
            return "refusing to run on Redis database 0"
        shape, client = self.shape, self.client
        extra_prompts = set()
        if shape.variant == "ivr":
            extra_prompts = flow_prompt_ids(ivr_flow_definition("bench", "bench"))
        write_prompts(self.workdir / "prompts", shape.prompt_seconds, extra_prompts)
        self.result["stale_centers_removed"] = remove_stale_centers()
        center = self.center = provision_center(shape)
        env = dict(
            os.environ,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            RECORDINGS_DIR=str(self.workdir / "recordings"),
            PROMPTS_DIR=str(self.workdir / "prompts"),
            PYTHONUNBUFFERED="1",
        )
        self.persister = ManagedProcess(
            ["run_persister", "--consumer", f"bench-{center.token}", "--block-ms", "200"]
            # Nothing is trimmed during the run, so the audit sees every fact emitted.
            + ["--trim-interval", "1000000"],
            env,
            self.workdir / "persister.log",
        ).start()
        daemon_port = free_port()
        self.simulator = SwitchSimulator(
            port=0,
            password=ESL_PASSWORD,
            dialplan_xml=render_dialplan(daemon_port, center.did, center.flow, center.extensions),
            speed=shape.speed,
            recordings_dir=str(self.workdir / "recordings"),
        ).start()
        for extension in center.extensions:
            self.simulator.add_endpoint(
                extension, answer_delay=shape.answer_delay, talk_time=shape.talk_time
            )
        node = f"bench-{center.token}"
        daemon = self.daemon = ManagedProcess(
            ["run_cti", "--node-name", node],
            dict(
                env,
                FREESWITCH_ESL_URLS=f"esl://:{ESL_PASSWORD}@127.0.0.1:{self.simulator.port}",
                CTI_SOCKET_PORT=str(daemon_port),
                CTI_NODE_NAME=node,
            ),
            self.workdir / "daemon.log",
        ).start()
        self.result["daemon_pid"] = daemon.pid
        if not wait_until(lambda: client.get("cc:leader") == node, 30):
            return "the daemon did not start: " + daemon.log_tail()
        if not wait_until(lambda: _listening(daemon_port), 15):
            return "the daemon does not accept calls: " + daemon.log_tail()
        logged_in = log_agents_in(client, center.user_ids, timeout=max(20.0, shape.agents / 20))
        self.result["agents_logged_in"] = logged_in
        if logged_in < shape.agents:
            return f"only {logged_in} of {shape.agents} agents logged in"
        self.load = OpenLoopLoad(self.simulator, center.did, shape)
        return None

    def run_load(self, plan: Plan, profile_path: str = "") -> None:
        """Ramp the load; report the steps, the sustained rate and the CPU used."""
        assert self.load is not None and self.daemon is not None and self.persister is not None
        load, result = self.load, self.result
        profiler = None
        if profile_path:
            profiler = _start_profiler(self.daemon.pid, plan.load_seconds, profile_path)
        cpu_before = _cpu_snapshot(self.daemon, self.persister)
        try:
            steps = _run_ramp(load, plan)
        finally:
            load.stop()
            if profiler is not None:
                _stop_profiler(profiler, result)
        result["load_cpu_s"] = _cpu_used(cpu_before, _cpu_snapshot(self.daemon, self.persister))
        placed = max(1, len(load.outcomes))
        result["load_cpu_ms_per_call"] = {
            name: round(1000 * used / placed, 1)
            for name, used in result["load_cpu_s"].items()
            if name != "wall"
        }
        result["steps"] = [asdict(step) for step in steps]
        best = max(
            (step for step in steps if step.sustained),
            key=lambda step: step.completed_cps,
            default=None,
        )
        if best is not None:
            result["sim_inbound_cps_sustained"] = best.completed_cps
            result["sustained_step"] = asdict(best)
        else:
            result["sim_inbound_cps_sustained"] = 0.0
            result["reason"] = f"no step kept up, even the first at {plan.rates[0]} calls/s"
        failing = [step for step in steps if not step.sustained]
        if failing:
            result["first_failing_step"] = asdict(min(failing, key=lambda s: s.target_cps))
        if not self.daemon.alive():
            result["reason"] = "the daemon exited during the load: " + self.daemon.log_tail()

    def drain_and_audit(self, plan: Plan) -> None:
        """Let the calls end and the persister drain, then count the facts that are missing."""
        assert self.load is not None and self.daemon is not None
        load, client, result = self.load, self.client, self.result
        drained = wait_until(lambda: load.live_count() == 0, plan.drain_seconds, 0.1)
        result["calls_hung_up_after_drain"] = 0 if drained else load.hang_up_all()
        wait_until(lambda: load.live_count() == 0, 5.0, 0.1)
        # The daemon's last facts (the CDRs of the last calls) land after the hangups; after
        # an overloaded step it may still be working through hangups seconds later, so wait
        # for every call it started to have its CDR (bounded), then for the stream to settle.
        wait_until(_calls_closed(client), plan.drain_seconds * 3, 0.25)
        wait_until(_stream_settled(client), plan.drain_seconds, 0.25)
        result["daemon_peak_rss_mb"] = self.daemon.peak_rss_mb()
        self.daemon.stop()
        caught_up = wait_until(lambda: persister_caught_up(client), plan.persist_seconds, 0.2)
        result["persister_caught_up"] = bool(caught_up)
        audit = audit_facts(client)
        placed = [outcome.uuid for outcome in load.outcomes]
        without_cdr = sum(1 for call_uuid in placed if call_uuid not in audit.call_ended_uuids)
        result["calls_placed"] = len(placed)
        result["calls_reached_agent"] = sum(1 for o in load.outcomes if o.reached_agent)
        result["calls_without_cdr"] = without_cdr
        result["facts_emitted"] = sum(audit.emitted.values())
        result["facts_by_kind"] = dict(audit.emitted)
        result["facts_missing_by_kind"] = dict(audit.missing)
        result["facts_dead_lettered"] = audit.dead_lettered
        result["sim_lost_facts"] = audit.lost + without_cdr

    def close(self) -> None:
        if self.load is not None:
            self.load.stop()
        for process in (self.daemon, self.persister):
            if process is not None:
                process.stop()
        if self.simulator is not None:
            self.simulator.stop()
        if self.center is not None:
            calls = [outcome.uuid for outcome in self.load.outcomes] if self.load else []
            remove_center(self.center, calls)
        self.client.close()


def measure_inbound(
    redis_url: str,
    database_url: str,
    target_cps: float = 300.0,
    seconds: float = 60.0,
    quick: bool = False,
    agents: int | None = None,
    profile_path: str = "",
    keep_dir: str = "",
    speed: float | None = None,
    variant: str = "queue",
) -> dict[str, Any]:
    """Drive inbound calls through simulator, daemon and persister; see the module docstring.

    ``seconds`` is the load's duration (ramp steps and their warm-ups); start-up, draining
    and the fact audit come on top. ``agents`` defaults to enough seats for ``target_cps``;
    ``speed`` is the simulator's time factor (1 by default). With ``profile_path``, py-spy
    (if installed) records the daemon during the load. With ``keep_dir``, the daemon's and
    persister's logs and the recordings are written there and kept. ``variant`` "ivr" runs
    the shipped hotline IVR flow (the caller presses 0 for an agent) before the queue.
    Returns the three metrics, the steps, the fact audit, CPU use and timings.
    """
    if variant not in ("queue", "ivr"):
        raise ValueError(f"variant must be 'queue' or 'ivr', not {variant!r}")
    plan = make_plan(target_cps, seconds, quick)
    shape = CenterShape(agents=1, speed=speed or CenterShape.speed)
    shape = CenterShape(
        agents=agents or seats_for(max(plan.rates), shape), speed=shape.speed, variant=variant
    )
    workdir = Path(keep_dir or tempfile.mkdtemp(prefix="bench-inbound-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run = InboundRun(redis_url, database_url, shape, workdir)
    run.result.update(target_cps=target_cps, quick=quick)
    timings: dict[str, float] = {}
    began = time.monotonic()

    def lap(name: str) -> None:
        timings[name] = time.monotonic() - began - sum(timings.values())

    try:
        reason = run.start()
        lap("start_s")
        # Django, the center and the simulator's set-up stay alive for the whole run: the
        # collector's full passes need not walk them (each cost 90-100 ms of this process).
        gc.freeze()
        if reason is not None:
            run.result["reason"] = reason
            return run.result
        run.run_load(plan, profile_path)
        lap("load_s")
        run.drain_and_audit(plan)
        lap("drain_and_audit_s")
        return run.result
    finally:
        run.close()
        if not keep_dir:
            shutil.rmtree(workdir, ignore_errors=True)
        lap("cleanup_s")
        run.result["timings"] = {name: round(value, 2) for name, value in timings.items()}


def _cpu_snapshot(daemon: ManagedProcess, persister: ManagedProcess) -> dict[str, float]:
    own = os.times()
    return {
        "daemon": daemon.cpu_seconds() or 0.0,
        "persister": persister.cpu_seconds() or 0.0,
        # This process runs the simulator and the simulated parties.
        "simulator": own.user + own.system,
        "wall": time.monotonic(),
    }


def _cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before[name], 2) for name in before}


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _calls_closed(client: redis.Redis, stream: str = DEFAULT_STREAM) -> Callable[[], bool]:
    """A predicate true once every call_started in the facts stream has its call_ended.

    Reads only the entries added since its previous call.
    """
    after = ["-"]
    open_calls: set[str] = set()

    def closed() -> bool:
        while True:
            entries = client.xrange(stream, min=after[0], max="+", count=10_000)
            if after[0] != "-" and entries and entries[0][0] == after[0]:
                entries = entries[1:]  # the bound is inclusive: the last one seen
            if not entries:
                return not open_calls
            for entry_id, fields in entries:
                after[0] = entry_id
                kind = fields.get("kind")
                if kind in ("call_started", "call_ended"):
                    call_uuid = json.loads(fields["payload"]).get("call_uuid")
                    if kind == "call_started":
                        open_calls.add(call_uuid)
                    else:
                        open_calls.discard(call_uuid)

    return closed


def _stream_settled(client: redis.Redis) -> Callable[[], bool]:
    """A predicate true once the facts stream has stopped growing between two polls."""
    last = [-1]

    def settled() -> bool:
        length = int(client.xlen(DEFAULT_STREAM))
        done = length == last[0]
        last[0] = length
        return done

    return settled


def _run_ramp(load: OpenLoopLoad, plan: Plan) -> list[StepResult]:
    """Climb the rates until a step fails or the time is spent; then bisect in between.

    Each step's warm-up is also the grace period in which the previous step's last arrivals
    finish before that step is judged.
    """
    steps: list[StepResult] = []
    deadline = time.monotonic() + plan.load_seconds
    step_seconds = plan.warm_up + plan.window
    passed: float | None = None
    failed: float | None = None
    pending: Window | None = None
    for rate in plan.rates:
        if time.monotonic() + step_seconds > deadline + 0.5:
            break
        load.start(rate)
        gevent.sleep(plan.warm_up)
        if pending is not None:
            step = judge_window(load.outcomes, pending, time.monotonic())
            steps.append(step)
            pending_rate, pending = pending.target_cps, None
            if not step.sustained:
                failed = pending_rate
                break
            passed = pending_rate
        pending = observe_window(load, plan.window)
    load.stop()
    if pending is not None:
        gevent.sleep(plan.grace)
        step = judge_window(load.outcomes, pending, time.monotonic())
        steps.append(step)
        if step.sustained:
            passed = pending.target_cps
        else:
            failed = pending.target_cps
    while plan.refine and failed is not None:
        # Clear the failed step's backlog (what is still up after a while is hung up: those
        # calls already count as unfinished), then try a rate in between.
        if not wait_until(lambda: load.live_count() == 0, 5.0, 0.1):
            load.hang_up_all()
            wait_until(lambda: load.live_count() == 0, 5.0, 0.1)
        low = passed or failed / 4
        rate = round(math.sqrt(low * failed), 2)
        if failed / low < 1.15 or time.monotonic() + step_seconds + plan.grace > deadline + 0.5:
            break
        load.start(rate)
        gevent.sleep(plan.warm_up)
        window = observe_window(load, plan.window)
        load.stop()
        gevent.sleep(plan.grace)
        step = judge_window(load.outcomes, window, time.monotonic())
        steps.append(step)
        if step.sustained:
            passed = rate
        else:
            failed = rate
    return steps


def _start_profiler(pid: int, seconds: float, path: str) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        logger.warning("py-spy is not installed: no profile")
        return None
    # Collapsed stacks for a .txt path (easy to sum up), speedscope for .json, else an SVG.
    output = {".txt": "raw", ".json": "speedscope"}.get(Path(path).suffix, "flamegraph")
    return subprocess.Popen(
        [py_spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-o", path, "-f", output],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop_profiler(profiler: subprocess.Popen[bytes], result: dict[str, Any]) -> None:
    deadline = time.monotonic() + 20
    while profiler.poll() is None and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if profiler.poll() is None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(10)
    result["profile_returncode"] = profiler.returncode
