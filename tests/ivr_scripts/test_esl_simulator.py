"""The runner over the real ESL outbound session against the switch simulator: a simulated
caller dials the DID, hears prompts, presses digits, waits out timeouts and hangs up."""

from __future__ import annotations

from pathlib import Path

import gevent
import gevent.event
import pytest

from cti.esl.outbound import OutboundServer
from cti.simulator import SwitchSimulator
from cti.simulator.parties import SimulatedCaller
from ivr_scripts.esl_media import EslMedia
from ivr_scripts.lookups import default_registry
from ivr_scripts.runner import CallContext, FlowRunner, Hangup, Queue, RunResult, Voicemail

from .helpers import WEDNESDAY_10AM, FakeHousingFundApi, config, library, shipped_flow
from .simulated_calls import write_prompt_files

DIALPLAN = """
<include>
  <context name="public">
    <extension name="ivr">
      <condition field="destination_number" expression="^(12329|4000)$">
        <action application="socket" data="${ivr_socket} async full"/>
      </condition>
    </extension>
  </context>
</include>
"""


class ReactiveCaller(SimulatedCaller):
    """Acts when a prompt containing the next expected text starts playing."""

    def __init__(self, simulator, script, **kwargs) -> None:
        super().__init__(simulator, **kwargs)
        self.script = list(script)

    def on_prompt(self, channel, path: str) -> None:
        super().on_prompt(channel, path)
        if self.script and self.script[0][0] in path:
            _, action = self.script.pop(0)
            if isinstance(action, tuple):  # ("after", seconds, keys or "hangup")
                _, delay, keys = action
                gevent.spawn_later(delay, self.hangup if keys == "hangup" else self.press, *(
                    () if keys == "hangup" else (keys,)))  # fmt: skip
            elif action == "hangup":
                gevent.spawn(self.hangup)  # while the prompt still plays
            elif action != "wait":  # "wait": let this try time out
                gevent.spawn_later(0.01, self.press, action)


class Harness:
    """Simulator + outbound server whose handler runs the shipped flows."""

    def __init__(self, tmp_path: Path) -> None:
        self.prompt_root = tmp_path / "prompts"
        write_prompt_files(self.prompt_root)
        self.results: list[RunResult] = []
        self.done = gevent.event.Event()
        self.api = FakeHousingFundApi()
        self.server = OutboundServer(self._handler)
        self.server.start()
        self.simulator = SwitchSimulator(
            dialplan_xml=DIALPLAN, speed=0.01, recordings_dir=str(tmp_path / "recordings")
        )
        host, port = self.server.address
        self.simulator.switch.global_variables["ivr_socket"] = f"{host}:{port}"
        self.simulator.start()
        self.recordings_dir = tmp_path / "recordings"

    def _handler(self, session):
        harness = self

        class Handler:
            def run(self) -> None:
                try:
                    media = EslMedia(session, harness.prompt_root)
                    media.answer()
                    runner = FlowRunner(
                        flows=library(shipped_flow("hotline_12329"), shipped_flow("voicemail")),
                        config=config(
                            dids=[
                                {
                                    "number": "12329",
                                    "flow": "hotline_12329",
                                    "language": "zh",
                                    "calendar": 1,
                                }
                            ]
                        ),  # fmt: skip
                        lookups=default_registry(),
                        http=harness.api,
                        recordings_dir=harness.recordings_dir,
                        clock=lambda: WEDNESDAY_10AM,
                    )
                    data = session.channel_data
                    number = data.get("Caller-Destination-Number")
                    caller = data.get("Caller-Caller-ID-Number")
                    if number == "4000":
                        context = CallContext.for_flow("voicemail", session.uuid, caller,
                                                       queue="hotline_12329")  # fmt: skip
                    else:
                        context = CallContext.for_did(config(dids=[{
                            "number": "12329", "flow": "hotline_12329", "language": "zh",
                            "calendar": 1}]), number, caller, session.uuid)  # fmt: skip
                    harness.results.append(runner.run(media, context))
                finally:
                    harness.done.set()

        return Handler()

    def call(self, script, destination: str = "12329") -> tuple[RunResult, ReactiveCaller]:
        caller = ReactiveCaller(self.simulator, script, caller_id_number="13912345678")
        caller.dial(destination, context="public")
        assert self.done.wait(timeout=20), "the flow did not finish"
        return self.results[-1], caller

    def close(self) -> None:
        self.simulator.stop()
        self.server.stop(timeout=1)


@pytest.fixture
def harness(tmp_path):
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def test_deposit_query_then_agent_over_esl(harness) -> None:
    result, caller = harness.call(
        [
            ("main_menu", "1"),
            ("enter_id_number", "11010519491231002*#"),
            ("enter_password", "123456#"),
            ("main_menu", "0"),
        ]
    )
    assert result.outcome == Queue("hotline_12329", 0, ("housing_fund",))
    assert result.digits["ask_id"] == ["11010519491231002*"]
    assert result.digits["ask_password"] == ["***"]
    balance = next(p for p in caller.prompts if "your_balance_is" in p)
    assert balance.startswith("file_string://") and "/zh/say/10000.wav" in balance
    assert harness.api.calls[0][1]["id_number"] == "11010519491231002X"


def test_menu_timeouts_and_invalid_key_then_choice(harness) -> None:
    # No key on the first try (times out), a wrong key on the second, 0 on the third.
    result, caller = harness.call([("main_menu", "wait"), ("main_menu", "7"), ("main_menu", "0")])
    assert result.outcome == Queue("hotline_12329", 0, ("housing_fund",))
    invalid = [p for p in caller.prompts if "invalid_choice" in p]
    assert len(invalid) == 2
    assert result.digits["main_menu"] == ["0"]


def test_menu_failure_hangs_up_after_three_tries(harness) -> None:
    result, caller = harness.call([("main_menu", "8"), ("main_menu", "8"), ("main_menu", "8")])
    assert result.outcome == Hangup("too_many_errors")
    assert caller.wait_hangup(timeout=5)


def test_caller_hangs_up_mid_flow(harness) -> None:
    result, caller = harness.call([("main_menu", "1"), ("enter_id_number", "hangup")])
    assert result.outcome == Hangup("caller_hung_up", caller_hung_up=True)
    assert result.path[-1] == "ask_id"


def test_caller_hangs_up_during_a_prompt(harness) -> None:
    result, _ = harness.call([("welcome_12329", "hangup")])
    assert result.outcome.caller_hung_up
    assert result.path == ["welcome"]


def test_voicemail_flow_records_until_pound_over_esl(harness) -> None:
    result, caller = harness.call([("tone_stream", ("after", 0.2, "#"))], "4000")
    assert isinstance(result.outcome, Voicemail)
    assert result.outcome.group_id == 7 and result.outcome.queue == "hotline_12329"
    assert result.outcome.recording_path.startswith(str(harness.recordings_dir / "voicemail"))
    # 0.2 s of real time at speed 0.01 is about 20 simulated seconds, reported by record_ms.
    assert 5 <= result.outcome.duration_seconds <= 60
    assert any("message_saved" in p for p in caller.prompts)


def test_voicemail_kept_when_the_caller_hangs_up_to_finish(harness) -> None:
    result, _ = harness.call([("tone_stream", ("after", 0.2, "hangup"))], "4000")
    assert isinstance(result.outcome, Voicemail)
    assert result.outcome.duration_seconds > 0
