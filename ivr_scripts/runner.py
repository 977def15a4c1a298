"""The flow runner: walks a flow's nodes for one call and returns what the daemon does next.

Entry point for the daemon's call handler (inside an outbound-socket session)::

    runner = FlowRunner(flows=flow_reader.current, config=config_reader.current,
                        lookups=default_registry(), http=HttpLookupClient(url, token),
                        facts=fact_writer, recordings_dir=settings.RECORDINGS_DIR)
    context = CallContext.for_did(config_reader.current, did, caller, call_uuid)
    result = runner.run(EslMedia(session, prompt_root), context)
    # result.outcome: Queue | Transfer | Voicemail | Survey | Hangup

The survey and voicemail flows run the same way with ``CallContext(flow="survey", ...)``
(see :func:`CallContext.for_flow`). The caller hanging up anywhere ends the run with
``Hangup(caller_hung_up=True)``; the path, the digits and the variables come back in the
:class:`RunResult` (and as an ``ivr_path`` fact when a fact writer is given).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cti.esl.outbound import ChannelHangup
from ivr_scripts.blocking import find_block
from ivr_scripts.calendar import CENTER_TIME_ZONE, Opening, evaluate_calendar
from ivr_scripts.expressions import ExpressionError, evaluate, is_true
from ivr_scripts.flow import Flow
from ivr_scripts.lookups import HttpLookupClient, LookupFailed, LookupRegistry
from ivr_scripts.media import CallerHungUp, DigitRequest, Media, Prompt
from ivr_scripts.say import SayError, say
from ivr_scripts.store import Notice

logger = logging.getLogger(__name__)

SURVEY_FLOW = "survey"
VOICEMAIL_FLOW = "voicemail"
SYSTEM_BUSY_PROMPT = "system_busy"
MASK = "***"


# -- outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """Put the caller in an ACD queue."""

    queue: str
    priority: int = 0
    skills: tuple[str, ...] = ()

    @property
    def exit(self) -> str:
        return f"queue:{self.queue}"


@dataclass(frozen=True)
class Transfer:
    """Transfer to an agent (employee number), a queue, or an outside number."""

    kind: str
    target: str

    @property
    def exit(self) -> str:
        return f"transfer:{self.kind}:{self.target}"


@dataclass(frozen=True)
class Voicemail:
    """A message was recorded for a group; the channel is still up (the daemon hangs up)."""

    group_id: int | None
    queue: str | None
    recording_path: str
    duration_seconds: float

    @property
    def exit(self) -> str:
        return "voicemail"


@dataclass(frozen=True)
class Survey:
    """The caller's survey answer (``key`` None when there was none)."""

    key: str | None
    label: str | None
    score: int | None

    @property
    def exit(self) -> str:
        return f"survey:{self.label or 'none'}"


@dataclass(frozen=True)
class Hangup:
    """The call is over: the flow hung up (``reason``) or the caller did."""

    reason: str = "flow"
    caller_hung_up: bool = False

    @property
    def exit(self) -> str:
        return "caller_hangup" if self.caller_hung_up else f"hangup:{self.reason}"


Outcome = Queue | Transfer | Voicemail | Survey | Hangup


@dataclass
class RunResult:
    """What happened in the flow: the outcome plus the facts of the call."""

    outcome: Outcome
    flow: str
    version: int
    language: str
    path: list[str] = field(default_factory=list)
    digits: dict[str, list[str]] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    ended_at: float = 0.0


# -- inputs ------------------------------------------------------------------------------------


@dataclass
class CallContext:
    """The call a flow runs for: who called, which flow, which language and calendar."""

    call_uuid: str
    caller: str
    flow: str
    language: str = "zh"
    destination: str = ""
    calendar_id: int | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    # A node to start at instead of the flow's start (an overflow or transfer to an IVR node).
    start_node: str | None = None

    @classmethod
    def for_did(
        cls, config: Any, did_number: str, caller: str, call_uuid: str, default_flow: str = ""
    ) -> CallContext:
        """The DID decides the flow, the language and the business-hours calendar."""
        did = config.dids_by_number.get(did_number)
        if did is None or not did.get("enabled", True):
            return cls(call_uuid, caller, default_flow, destination=did_number)
        return cls(
            call_uuid,
            caller,
            did["flow"],
            language=did.get("language") or "zh",
            destination=did_number,
            calendar_id=did.get("calendar"),
        )

    @classmethod
    def for_flow(
        cls, flow: str, call_uuid: str, caller: str, language: str = "zh", **variables: Any
    ) -> CallContext:
        """A context for a flow the daemon starts by code (survey, voicemail)."""
        return cls(call_uuid, caller, flow, language=language, variables=dict(variables))


class FlowLibrary(Protocol):
    """Where flows and notices come from (an :class:`ivr_scripts.store.FlowSnapshot`)."""

    def flow(self, code: str) -> Flow | None: ...

    def active_notices(
        self, flow_code: str, language: str, moment: dt.datetime
    ) -> list[Notice]: ...


class FactSink(Protocol):
    """The subset of :class:`cti.facts.FactWriter` the runner uses."""

    def ivr_path(self, **fields: Any) -> str: ...

    def voicemail_left(self, **fields: Any) -> str: ...

    def survey_scored(self, **fields: Any) -> str: ...


class _FlowFailed(Exception):
    """A flow that cannot continue (bad expression, missing flow): the caller hears
    "system busy" and the call ends."""


# -- the runner ----------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(CENTER_TIME_ZONE)


class FlowRunner:
    """Runs flows for calls. Cheap to build; build one per call with the current snapshots."""

    def __init__(
        self,
        flows: FlowLibrary,
        config: Any,
        lookups: LookupRegistry | None = None,
        http: HttpLookupClient | None = None,
        facts: FactSink | None = None,
        recordings_dir: str | Path = "recordings",
        clock: Callable[[], dt.datetime] = _now,
        max_steps: int = 500,
    ) -> None:
        self.flows = flows
        self.config = config
        self.lookups = lookups or LookupRegistry()
        self.http = http
        self.facts = facts
        self.recordings_dir = Path(recordings_dir)
        self.clock = clock
        self.max_steps = max_steps

    def run(self, media: Media, context: CallContext) -> RunResult:
        """Run ``context.flow`` on ``media`` until an outcome; never raises for a hang-up."""
        run = _Run(self, media, context)
        result = run.execute()
        if self.facts is not None:
            try:
                self.facts.ivr_path(
                    call_uuid=context.call_uuid,
                    flow=result.flow,
                    started_at=result.started_at,
                    nodes=result.path,
                    digits=result.digits,
                    variables=run.public_variables(),
                    exit=result.outcome.exit,
                    at=result.ended_at,
                )
            except Exception:  # facts are best effort here; the call goes on
                logger.exception("could not record the IVR path of %s", context.call_uuid)
        return result


class _Run:
    """The state of one run: current flow, language, variables, path."""

    def __init__(self, runner: FlowRunner, media: Media, context: CallContext) -> None:
        self.runner = runner
        self.media = media
        self.context = context
        self.language = context.language
        self.variables: dict[str, Any] = {
            **context.variables,
            "caller": context.caller,
            "destination": context.destination,
            "call_uuid": context.call_uuid,
            "language": context.language,
        }
        self.sensitive: set[str] = set()
        self.path: list[str] = []
        self.digits: dict[str, list[str]] = {}
        self.flow: Flow | None = None

    # -- helpers --------------------------------------------------------------------------

    def public_variables(self) -> dict[str, Any]:
        """Variables safe to store as facts: passwords and the like are left out."""
        return {
            k: v
            for k, v in self.variables.items()
            if k not in self.sensitive and isinstance(v, str | int | float | bool | type(None))
        }

    def evaluate(self, expression: Any) -> Any:
        try:
            return evaluate(expression, self.variables)
        except ExpressionError as error:
            raise _FlowFailed(str(error)) from error

    def prompts(self, items: Sequence[Any] | None) -> list[Prompt]:
        result: list[Prompt] = []
        for item in items or ():
            if isinstance(item, str):
                result.append(Prompt("prompt", item, self.language))
            elif "say" in item:
                result += self.say(item["say"], self.evaluate(item["value"]))
            elif "prompt" in item:
                result.append(Prompt("prompt", item["prompt"], self.language))
            elif "file" in item:
                result.append(Prompt("file", item["file"], self.language))
            else:
                result.append(Prompt("text", item["text"], self.language))
        return result

    def say(self, kind: str, value: Any) -> list[Prompt]:
        try:
            return [Prompt("prompt", p, self.language) for p in say(kind, value, self.language)]
        except SayError as error:
            raise _FlowFailed(str(error)) from error

    def play(self, items: Sequence[Any] | None) -> None:
        prompts = self.prompts(items)
        if prompts:
            self.media.play(prompts)

    def digit_request(self, node: Mapping[str, Any], **overrides: Any) -> DigitRequest:
        values = {
            "prompts": self.prompts(node.get("prompts")),
            "invalid_prompts": self.prompts(node.get("invalid_prompts")),
            "tries": node.get("tries", 3),
            "timeout": float(node.get("timeout", 5)),
            "digit_timeout": float(node.get("digit_timeout", 3)),
            "terminators": node.get("terminator", "#"),
        }
        values.update(overrides)
        return DigitRequest(**values)

    def note_digits(self, node_id: str, digits: str, sensitive: bool = False) -> None:
        self.digits.setdefault(node_id, []).append(MASK if sensitive and digits else digits)

    # -- the loop --------------------------------------------------------------------------

    def execute(self) -> RunResult:
        started = time.time()
        outcome: Outcome
        try:
            outcome = self._walk()
        except (CallerHungUp, ChannelHangup):
            outcome = Hangup("caller_hung_up", caller_hung_up=True)
        except _FlowFailed as error:
            logger.error(
                "flow %s failed for %s: %s", self.context.flow, self.context.call_uuid, error
            )
            outcome = self._fail()
        flow = self.flow
        return RunResult(
            outcome=outcome,
            flow=flow.code if flow else self.context.flow,
            version=flow.version if flow else 0,
            language=self.language,
            path=self.path,
            digits=self.digits,
            variables=dict(self.variables),
            started_at=started,
            ended_at=time.time(),
        )

    def _fail(self) -> Outcome:
        try:
            self.media.play([Prompt("prompt", SYSTEM_BUSY_PROMPT, self.language)])
            self.media.hangup("NORMAL_CLEARING")
        except (CallerHungUp, ChannelHangup):
            return Hangup("caller_hung_up", caller_hung_up=True)
        return Hangup("error")

    def _load(self, code: str) -> Flow:
        flow = self.runner.flows.flow(code)
        if flow is None:
            raise _FlowFailed(f"no published flow {code!r}")
        self.flow = flow
        self.variables["flow"] = code
        return flow

    def _walk(self) -> Outcome:
        flow = self._load(self.context.flow)
        start = self.context.start_node
        if start and start not in flow.nodes:
            raise _FlowFailed(f"no node {start!r} in flow {flow.code}")
        notices = (
            []
            if start
            else self.runner.flows.active_notices(flow.code, self.language, self.runner.clock())
        )
        for notice in notices:
            if notice.audio_path:
                prompt = Prompt("file", notice.audio_path, self.language)
            else:
                prompt = Prompt("text", notice.text, self.language)
            self.media.play([prompt])
        node_id = start or flow.start
        for _ in range(self.runner.max_steps):
            node = flow.node(node_id)
            self.path.append(
                node_id if flow.code == self.context.flow else f"{flow.code}:{node_id}"
            )
            handler = getattr(self, "node_" + node["type"])
            step = handler(node_id, node)
            if isinstance(step, str):
                node_id = step
                continue
            if isinstance(step, Flow):
                flow = step
                node_id = flow.start
                continue
            return step
        raise _FlowFailed(f"more than {self.runner.max_steps} steps: a loop in the flow?")

    # -- node types: each returns the next node id, a Flow to switch to, or an outcome -------

    def node_play(self, node_id: str, node: Mapping[str, Any]) -> str:
        self.play(node["prompts"])
        return node["next"]

    def node_say(self, node_id: str, node: Mapping[str, Any]) -> str:
        prompts = (
            self.prompts(node.get("before"))
            + self.say(node["say"], self.evaluate(node["value"]))
            + self.prompts(node.get("after"))
        )
        self.media.play(prompts)
        return node["next"]

    def node_collect(self, node_id: str, node: Mapping[str, Any]) -> str:
        request = self.digit_request(
            node,
            min_length=node.get("min_length", 1),
            max_length=node.get("max_length", node.get("min_length", 1)),
            pattern=node.get("pattern"),
        )
        digits = self.media.collect_digits(request)
        sensitive = bool(node.get("sensitive"))
        self.note_digits(node_id, digits, sensitive)
        variable = node["variable"]
        if sensitive:
            self.sensitive.add(variable)
        if not digits:
            return node["failure"]
        self.variables[variable] = digits
        return node["next"]

    def node_menu(self, node_id: str, node: Mapping[str, Any]) -> str:
        options: Mapping[str, str] = node["options"]
        keys = "".join(sorted(options))
        pattern = "[" + "".join("\\" + k if k in "*#" else k for k in keys) + "]"
        request = self.digit_request(
            node,
            min_length=1,
            max_length=1,
            pattern=pattern,
            terminators=node.get("terminator", ""),
        )
        digit = self.media.collect_digits(request)
        self.note_digits(node_id, digit)
        if node.get("variable"):
            self.variables[node["variable"]] = digit
        if not digit or digit not in options:
            return node["failure"]
        return options[digit]

    def node_time(self, node_id: str, node: Mapping[str, Any]) -> str:
        calendar_id = node.get("calendar", self.context.calendar_id)
        calendar = (
            self.runner.config.calendars_by_id.get(calendar_id) if calendar_id is not None else None
        )
        if calendar is None:
            if calendar_id is not None:
                logger.warning("calendar %s is not in the snapshot; treating as open", calendar_id)
            opening = Opening.OPEN
        else:
            opening = evaluate_calendar(calendar, self.runner.clock())
        self.variables["opening"] = str(opening)
        if opening is Opening.OPEN:
            return node["open"]
        if opening is Opening.HOLIDAY and "holiday" in node:
            return node["holiday"]
        return node["closed"]

    def node_block_check(self, node_id: str, node: Mapping[str, Any]) -> str | Outcome:
        entries = self.runner.config.data.get("blacklist", ())
        direction = node.get("direction", "in")
        match = find_block(entries, self.context.caller, direction, self.runner.clock())
        if match is None:
            self.variables["blocked"] = False
            return node["next"]
        self.variables["blocked"] = True
        self.variables["block_category"] = match.category
        if "blocked" in node:
            return node["blocked"]
        if match.action == "drop":
            self.media.hangup("CALL_REJECTED")
            return Hangup(match.category)
        prompts = node.get(f"{match.category}_prompts", node.get("notice_prompts"))
        self.play(prompts)
        self.media.hangup("CALL_REJECTED")
        return Hangup(match.category)

    def node_lookup(self, node_id: str, node: Mapping[str, Any]) -> str:
        params = {name: self.evaluate(value) for name, value in node.get("params", {}).items()}
        timeout = float(node.get("timeout", 3))
        try:
            if "function" in node:
                result = self.runner.lookups.call(node["function"], params)
            elif self.runner.http is None:
                raise LookupFailed("no HTTP lookup client configured")
            else:
                result = self.runner.http.call(node["url"], params, timeout)
        except LookupFailed as error:
            logger.warning("lookup in %s.%s failed: %s", self.context.flow, node_id, error)
            self.variables["lookup_error"] = str(error)
            return node["error"]
        prefix = node.get("into")
        for key, value in result.items():
            self.variables[f"{prefix}_{key}" if prefix else str(key)] = value
        return node["next"]

    def node_set(self, node_id: str, node: Mapping[str, Any]) -> str:
        for name, expression in node["variables"].items():
            self.variables[name] = self.evaluate(expression)
        if "language" in node["variables"] and self.variables["language"] in ("zh", "en"):
            self.language = self.variables["language"]
        return node["next"]

    def node_language(self, node_id: str, node: Mapping[str, Any]) -> str:
        self.language = node["language"]
        self.variables["language"] = self.language
        return node["next"]

    def node_branch(self, node_id: str, node: Mapping[str, Any]) -> str:
        for condition in node["conditions"]:
            try:
                if is_true(condition["if"], self.variables):
                    return condition["next"]
            except ExpressionError as error:
                raise _FlowFailed(str(error)) from error
        return node["else"]

    def node_queue(self, node_id: str, node: Mapping[str, Any]) -> Outcome:
        self.play(node.get("prompts"))
        priority = self.evaluate(node.get("priority", 0))
        try:
            priority = int(priority)
        except (TypeError, ValueError):
            raise _FlowFailed(f"queue priority {priority!r} is not a number") from None
        return Queue(node["queue"], priority, tuple(node.get("skills", ())))

    def node_transfer(self, node_id: str, node: Mapping[str, Any]) -> Outcome:
        target = self.evaluate(node["target"])
        if target in (None, ""):
            raise _FlowFailed("the transfer target is empty")
        self.play(node.get("prompts"))
        return Transfer(node["kind"], str(target))

    def _group_for(self, node: Mapping[str, Any]) -> tuple[int | None, str | None]:
        queue = self.evaluate(node["queue"]) if "queue" in node else None
        group = self.evaluate(node["group"]) if "group" in node else None
        group_id: int | None = None
        if isinstance(group, int):
            group_id = group
        elif isinstance(group, str) and group:
            if group.isdigit():
                group_id = int(group)
            else:
                found = [g for g in self.runner.config.groups_by_id.values() if g["name"] == group]
                group_id = found[0]["id"] if found else None
        if group_id is None and queue:
            queue_data = self.runner.config.queues_by_code.get(str(queue))
            group_id = queue_data["group"] if queue_data else None
        return group_id, str(queue) if queue else None

    def node_voicemail(self, node_id: str, node: Mapping[str, Any]) -> Outcome:
        group_id, queue = self._group_for(node)
        self.play(node.get("prompts"))
        moment = self.runner.clock()
        path = self.runner.recordings_dir / "voicemail" / moment.strftime("%Y/%m/%d")
        path = path / f"{self.context.call_uuid}-{moment.strftime('%H%M%S')}.wav"
        recording = self.media.record(
            str(path), node.get("max_seconds", 120), node.get("silence_seconds", 5)
        )
        outcome = Voicemail(group_id, queue, recording.path, recording.duration_seconds)
        if self.runner.facts is not None and recording.duration_seconds > 0:
            self.runner.facts.voicemail_left(
                call_uuid=self.context.call_uuid,
                path=recording.path,
                duration=recording.duration_seconds,
                caller=self.context.caller,
                group_id=group_id,
            )
        self.variables["voicemail_seconds"] = recording.duration_seconds
        try:
            self.play(node.get("after_prompts"))
        except (CallerHungUp, ChannelHangup):
            pass  # the message is kept; hanging up after it is how most callers finish
        return outcome

    def node_survey(self, node_id: str, node: Mapping[str, Any]) -> Outcome:
        options: Mapping[str, Mapping[str, Any]] = node["options"]
        pattern = "[" + "".join(sorted(options)) + "]"
        request = self.digit_request(
            node, min_length=1, max_length=1, pattern=pattern, terminators=""
        )
        key = self.media.collect_digits(request)
        self.note_digits(node_id, key)
        if not key:
            return Survey(None, None, None)
        option = options[key]
        self.variables["survey_label"] = option["label"]
        if self.runner.facts is not None:
            agent_id = self.variables.get("agent_id")
            self.runner.facts.survey_scored(
                call_uuid=self.context.call_uuid,
                score=option["score"],
                agent_id=int(agent_id) if agent_id not in (None, "") else None,
                queue=str(self.variables.get("queue") or ""),
            )
        self.play(node.get("thanks_prompts"))
        return Survey(key, option["label"], option["score"])

    def node_hangup(self, node_id: str, node: Mapping[str, Any]) -> Outcome:
        self.play(node.get("prompts"))
        self.media.hangup(node.get("cause", "NORMAL_CLEARING"))
        return Hangup(node.get("reason", "flow"))

    def node_goto(self, node_id: str, node: Mapping[str, Any]) -> str | Flow:
        if "node" in node:
            return node["node"]
        return self._load(node["flow"])
