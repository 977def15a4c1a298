"""Running flows over the real ESL outbound session against the switch simulator.

A :class:`FlowHarness` starts one simulator and one outbound-socket server; each
:meth:`FlowHarness.call` dials it with a :class:`ScriptedCaller` that reacts to the prompts it
hears (presses keys, waits out timeouts, hangs up) and returns the flow's
:class:`~ivr_scripts.runner.RunResult` together with what the caller heard. The lookups the
12329 flow makes over HTTP go to :class:`StubLookupApi`, a local HTTP server answering exactly
what ``ivr/api`` answers for the demo accounts.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import wave
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import gevent
import gevent.event

from cti.config import ConfigSnapshot
from cti.esl.outbound import OutboundServer, OutboundSession
from cti.simulator import SwitchSimulator
from cti.simulator.channel import Channel
from cti.simulator.events import SwitchEvent
from cti.simulator.parties import SimulatedCaller
from ivr_scripts.esl_media import EslMedia
from ivr_scripts.lookups import HttpLookupClient, LookupRegistry, default_registry
from ivr_scripts.runner import CallContext, FlowRunner, RunResult
from ivr_scripts.store import FlowSnapshot
from ivr_scripts.synthesis import PROMPTS_DIR, prompt_path

from .helpers import WEDNESDAY_10AM, RecordingFacts

# Every number dialled runs the outbound socket: the harness decides which flow runs.
ANY_NUMBER_DIALPLAN = """
<include>
  <context name="public">
    <extension name="ivr">
      <condition field="destination_number" expression="^(\\d+)$">
        <action application="socket" data="${ivr_socket} async full"/>
      </condition>
    </extension>
  </context>
</include>
"""

LOOKUP_TOKEN = "simulated-calls-token"


def write_prompt_files(root: Path, seconds: float = 1.0) -> None:
    """A short WAV per prompt id of both languages, so the switch finds (and times) each."""
    for language in ("zh", "en"):
        prompts = json.loads((PROMPTS_DIR / f"{language}.json").read_text(encoding="utf-8"))
        for prompt_id in prompts["prompts"]:
            write_wav(prompt_path(root, language, prompt_id), seconds)


def write_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\0\0" * int(8000 * seconds))


def prompt_ids(path: str, root: Path) -> list[tuple[str, str]]:
    """(language, prompt id) of each part of a played path; streams keep their full text.

    ``file_string://a!b`` plays several files: each becomes one entry.
    """
    if path.startswith("file_string://"):
        parts = path[len("file_string://") :].split("!")
    else:
        parts = [path]
    prefix = str(root) + "/"
    result = []
    for part in parts:
        if part.startswith(prefix):
            language, _, rest = part[len(prefix) :].partition("/")
            result.append((language, rest.removesuffix(".wav")))
        else:
            result.append(("", part))
    return result


# -- the caller ---------------------------------------------------------------------------------

HANG_UP = "<hang up>"
"""In a script: the caller hangs up."""

WAIT = ()
"""In a script: the caller does nothing, so this try times out."""


@dataclass(frozen=True)
class Pause:
    """In a script: the caller waits this many simulated seconds."""

    seconds: float


@dataclass(frozen=True)
class AwaitEvent:
    """In a script: the caller waits until this event fires on its channel (for instance
    ``PLAYBACK_STOP``: the prompt ended and the switch now waits for digits)."""

    name: str


Action = str | Pause | AwaitEvent
Step = tuple[str, Action | Sequence[Action]]

AFTER_PROMPT = AwaitEvent("PLAYBACK_STOP")


class ScriptedCaller(SimulatedCaller):
    """A caller that acts when it hears prompts: ``script`` is a list of
    ``(prompt id, actions)``. When a prompt whose ids include the first step's id starts, the
    step's actions run in order: keys to press, :data:`HANG_UP`, :class:`Pause`,
    :class:`AwaitEvent`; :data:`WAIT` (no action) lets the try time out."""

    def __init__(self, simulator: SwitchSimulator, script: Iterable[Step], root: Path,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(simulator, **kwargs)
        self.script: list[Step] = list(script)
        self.root = root
        self._event_seen = gevent.event.Event()

    @property
    def heard(self) -> list[str]:
        """Every prompt id (or stream) played to the caller, in order."""
        return [prompt for path in self.prompts for _, prompt in prompt_ids(path, self.root)]

    @property
    def heard_with_language(self) -> list[tuple[str, str]]:
        return [item for path in self.prompts for item in prompt_ids(path, self.root)]

    def on_prompt(self, channel: Channel, path: str) -> None:
        super().on_prompt(channel, path)
        if not self.script:
            return
        wanted, actions = self.script[0]
        if wanted not in [prompt for _, prompt in prompt_ids(path, self.root)]:
            return
        self.script.pop(0)
        if isinstance(actions, str | Pause | AwaitEvent):
            actions = (actions,)
        # PLAYBACK_START of this prompt is already among the events: wait for later ones.
        gevent.spawn(self._perform, tuple(actions), len(self.events))

    def _on_event(self, event: SwitchEvent) -> None:
        super()._on_event(event)
        self._event_seen.set()

    def _perform(self, actions: tuple[Action, ...], seen: int) -> None:
        channel = self.channel
        assert channel is not None
        for action in actions:
            if isinstance(action, Pause):
                if not channel.sleep_while_up(action.seconds):
                    return
            elif isinstance(action, AwaitEvent):
                while action.name not in self.events[seen:]:
                    if channel.down:
                        return
                    self._event_seen.clear()
                    if action.name not in self.events[seen:]:
                        self._event_seen.wait(timeout=0.5)
                seen += self.events[seen:].index(action.name) + 1
            elif action == HANG_UP:
                self.hangup()
            else:
                self.press(action)


# -- the lookup API -----------------------------------------------------------------------------


def demo_accounts() -> dict[str, dict[str, Any]]:
    """The accounts ``manage.py seed_housing_fund_demo`` creates, as the stub serves them."""
    from ivr.management.commands.seed_housing_fund_demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    today = dt.date.today()
    cents = Decimal("0.01")  # the models' DecimalFields keep two places
    accounts = {}
    for index, (id_number, _name, balance, loans) in enumerate(DEMO_ACCOUNTS):
        accounts[id_number] = {
            "password": DEMO_PASSWORD,
            "balance": Decimal(balance).quantize(cents),
            "loans": [
                {
                    "remaining": Decimal(remaining).quantize(cents),
                    "monthly": Decimal(monthly).quantize(cents),
                    # The seed command's due dates, so answers equal the live API's.
                    "due": today.replace(day=15) + dt.timedelta(days=31 * (offset + 1) + index),
                }
                for offset, (_contract, _principal, remaining, monthly) in enumerate(loans)
            ],
        }
    return accounts


class StubLookupApi:
    """A local HTTP server answering the ``/api/ivr/lookup/`` endpoints like ``ivr/api``.

    Same token check (403 ``bad_token``), same validation (400 ``invalid``), same JSON for
    the demo accounts. ``mode`` ``"error"`` answers HTTP 500. ``before_reply`` (if set) runs
    in the server's thread when a request arrives, before it is answered. ``requests`` keeps
    (path, body) of every request.
    """

    def __init__(self, token: str = LOOKUP_TOKEN) -> None:
        self.token = token
        self.mode = "ok"
        self.before_reply: Callable[[], None] | None = None
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.accounts = demo_accounts()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append((self.path, body))
                if stub.before_reply is not None:
                    stub.before_reply()
                status, answer = stub.answer(self.path, self.headers.get("Authorization", ""),
                                             body)  # fmt: skip
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/ivr/lookup/"

    def reset(self) -> None:
        self.mode = "ok"
        self.before_reply = None
        self.requests.clear()
        self.accounts = demo_accounts()

    def start(self) -> StubLookupApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, authorization: str, body: Mapping[str, Any]) -> tuple[int, dict]:
        if self.mode == "error":
            return 500, {"code": "error", "message": "Server error."}
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or token != self.token:
            return 403, {"code": "bad_token", "message": "A valid IVR lookup token is required."}
        fields = self._invalid_fields(path, body)
        if fields:
            return 400, {"code": "invalid", "message": str(fields), "fields": fields}
        id_number = str(body["id_number"]).upper().replace("*", "X")
        account = self.accounts.get(id_number)
        if account is not None and account["password"] != body["password"]:
            account = None
        if path.endswith("/deposit-balance/"):
            if account is None:
                return 200, {"found": False}
            return 200, {"found": True, "balance": str(account["balance"])}
        if path.endswith("/loans/"):
            if account is None:
                return 200, {"found": False}
            loans = sorted(account["loans"], key=lambda loan: loan["due"])
            answer: dict[str, Any] = {"found": True, "loan_count": len(loans)}
            if loans:
                answer |= {
                    "loan_remaining": str(sum((loan["remaining"] for loan in loans), Decimal(0))),
                    "loan_monthly_payment": str(
                        sum((loan["monthly"] for loan in loans), Decimal(0))
                    ),
                    "loan_next_due_date": loans[0]["due"].isoformat(),
                }
            return 200, answer
        if path.endswith("/change-password/"):
            if account is None:
                return 200, {"found": False, "changed": False}
            account["password"] = body["new_password"]
            return 200, {"found": True, "changed": True}
        return 404, {"code": "not_found", "message": "Not found."}

    @staticmethod
    def _invalid_fields(path: str, body: Mapping[str, Any]) -> dict[str, list[str]]:
        import re

        names = ["id_number", "password"]
        if path.endswith("/change-password/"):
            names.append("new_password")
        fields: dict[str, list[str]] = {}
        for name in names:
            value = body.get(name)
            if not isinstance(value, str) or not value:
                fields[name] = ["This field is required."]
            elif len(value) != (18 if name == "id_number" else 6):
                fields[name] = ["Wrong length."]
            elif name == "id_number":
                if not re.match(r"^\d{17}[\dX]$", value.upper().replace("*", "X")):
                    fields[name] = ["Not an ID number."]
            elif not re.match(r"^\d{6}$", value):
                fields[name] = ["Six digits."]
        return fields


class SilentEndpoint:
    """Accepts TCP connections (the kernel's backlog does) and never answers: a hung server."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)

    @property
    def base_url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}/api/ivr/lookup/"

    def close(self) -> None:
        self._socket.close()


class SimulatedTimeHttpClient(HttpLookupClient):
    """An HTTP lookup client whose timeouts are simulated seconds, like every other wait of a
    simulated call (a node's 3 s timeout lasts 3 s × the simulator's speed)."""

    def __init__(self, base_url: str, token: str, speed: float) -> None:
        super().__init__(base_url, token)
        self.speed = speed

    def call(self, url: str, params: Mapping[str, Any], timeout: float | None = None) -> dict:
        return super().call(url, params, (timeout or self.default_timeout) * self.speed)


# -- the harness --------------------------------------------------------------------------------


ContextFactory = Callable[[str, str, str], CallContext]


@dataclass
class CallSpec:
    """What the flow runner of one call is given. ``context(call_uuid, caller, destination)``
    builds the call's context; ``at`` is the runner's clock."""

    flows: FlowSnapshot
    config: ConfigSnapshot
    context: ContextFactory
    at: dt.datetime = WEDNESDAY_10AM
    lookups: LookupRegistry = field(default_factory=default_registry)
    http: Any = None
    facts: RecordingFacts = field(default_factory=RecordingFacts)


@dataclass
class SimulatedCall:
    """One finished call: the run's result and the caller as the switch saw it."""

    result: RunResult
    caller: ScriptedCaller
    facts: RecordingFacts

    @property
    def heard(self) -> list[str]:
        return self.caller.heard


class FlowHarness:
    """A switch simulator whose every call runs a flow over :class:`EslMedia`."""

    def __init__(self, root: Path, speed: float = 0.02, prompt_seconds: float = 0.5) -> None:
        self.speed = speed
        self.prompt_root = root / "prompts"
        self.recordings_dir = root / "recordings"
        write_prompt_files(self.prompt_root, prompt_seconds)
        self._runs: dict[str, tuple[gevent.event.AsyncResult, gevent.event.AsyncResult]] = {}
        self.caller: ScriptedCaller | None = None  # the current call's caller
        self.server = OutboundServer(self._handler)
        self.server.start()
        self.simulator = SwitchSimulator(
            dialplan_xml=ANY_NUMBER_DIALPLAN, speed=speed, recordings_dir=str(self.recordings_dir)
        )
        host, port = self.server.address
        self.simulator.switch.global_variables["ivr_socket"] = f"{host}:{port}"
        self.simulator.start()

    def _slots(self, call_uuid: str) -> tuple[gevent.event.AsyncResult, gevent.event.AsyncResult]:
        if call_uuid not in self._runs:
            self._runs[call_uuid] = (gevent.event.AsyncResult(), gevent.event.AsyncResult())
        return self._runs[call_uuid]

    def _handler(self, session: OutboundSession) -> Any:
        harness = self

        class Handler:
            def run(self) -> None:
                spec_slot, result_slot = harness._slots(session.uuid or "")
                try:
                    spec: CallSpec = spec_slot.get(timeout=10)
                    media = EslMedia(session, harness.prompt_root)
                    media.answer()
                    runner = FlowRunner(
                        flows=spec.flows,
                        config=spec.config,
                        lookups=spec.lookups,
                        http=spec.http,
                        facts=spec.facts,
                        recordings_dir=harness.recordings_dir,
                        clock=lambda: spec.at,
                    )
                    data = session.channel_data
                    assert data is not None
                    context = spec.context(
                        session.uuid or "",
                        data.get("Caller-Caller-ID-Number") or "",
                        data.get("Caller-Destination-Number") or "",
                    )
                    result_slot.set(runner.run(media, context))
                except BaseException as error:
                    result_slot.set_exception(error)
                    raise

        return Handler()

    def call(
        self,
        script: Iterable[Step],
        spec: CallSpec,
        destination: str = "12329",
        caller_id_number: str = "13912345678",
        whole_script: bool = True,
    ) -> SimulatedCall:
        """Dial, let the flow run to its end, and return what happened.

        With ``whole_script`` every step of the script must have been used.
        """
        caller = ScriptedCaller(
            self.simulator, script, self.prompt_root, caller_id_number=caller_id_number
        )
        self.caller = caller
        caller.dial(destination, context="public")
        assert caller.uuid is not None
        spec_slot, result_slot = self._slots(caller.uuid)
        spec_slot.set(spec)
        try:
            result = result_slot.get(timeout=20)
        finally:
            self._runs.pop(caller.uuid, None)
        # The handler returned: the socket closes and the switch ends the call.
        assert caller.wait_hangup(timeout=10), "the call was never hung up"
        if whole_script:
            assert caller.script == [], f"steps never reached: {caller.script}"
        return SimulatedCall(result, caller, spec.facts)

    def close(self) -> None:
        self.simulator.stop()
        self.server.stop(timeout=1)
