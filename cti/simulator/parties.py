"""Scripted SIP parties for tests, the demo and the benchmark: callers, agents, traffic."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from cti.simulator.channel import Channel
from cti.simulator.engine import Endpoint
from cti.simulator.events import SwitchEvent

if TYPE_CHECKING:
    from cti.simulator.simulator import SwitchSimulator


class _OwnMethod:
    """A scripted step calling one of the party's own methods, kept by name: a bound method
    in the party's own step list would make a reference cycle of every caller."""

    __slots__ = ("name", "args")

    def __init__(self, name: str, *args: Any) -> None:
        self.name = name
        self.args = args


class SimulatedCaller:
    """A caller (like sipp's UAC): dials, presses digits, hangs up; records what it saw.

    Timed steps count from the moment the call is answered, as sipp's scripts do.
    ``events`` lists the names of the events fired on the caller's channel and
    ``prompts`` the files and tone streams played to it. A subclass that needs only some
    kinds names them in ``followed_events`` (then ``events`` and the ``when(event=...)``
    triggers see only those): the switch then skips making the others for it.
    """

    followed_events: frozenset[str] | None = None

    def __init__(
        self,
        simulator: SwitchSimulator,
        caller_id_number: str = "caller",
        caller_id_name: str = "",
        user: str | None = None,
        port: int = 5070,
    ) -> None:
        self.simulator = simulator
        self.caller_id_number = caller_id_number
        self.caller_id_name = caller_id_name or caller_id_number
        self.user = user
        self.port = port
        self.channel: Channel | None = None
        self.events: list[str] = []
        self.prompts: list[str] = []
        self.hangup_cause: str | None = None
        self.answered = gevent.event.Event()
        self.hung_up = gevent.event.Event()
        self.destroyed = gevent.event.Event()
        self._steps: list[tuple[float, Callable[[], None] | _OwnMethod]] = []
        self._triggers: list[tuple[str | None, str | None, float, Callable[[], None]]] = []

    @property
    def uuid(self) -> str | None:
        return self.channel.uuid if self.channel is not None else None

    # -- scripting ---------------------------------------------------------------------
    def after_answer(self, delay: float, action: Callable[[], None]) -> SimulatedCaller:
        """Run ``action`` ``delay`` simulated seconds after the call is answered."""
        self._steps.append((delay, action))
        return self

    def press_after_answer(
        self, delay: float, digits: str, interval: float = 0.5
    ) -> SimulatedCaller:
        """Press ``digits`` (RFC 2833) starting ``delay`` s after answer, ``interval`` apart."""
        offset = delay
        for digit in digits:
            self._steps.append((offset, _OwnMethod("press", digit)))
            offset += interval
        return self

    def when(
        self,
        action: Callable[[], None],
        event: str | None = None,
        prompt: str | None = None,
        delay: float = 0.0,
    ) -> SimulatedCaller:
        """Run ``action`` ``delay`` s after an event (by name) or a prompt (by substring).

        For instance ``caller.when(caller.hangup, prompt="queue_music", delay=30)`` abandons
        after 30 s of queue music; each trigger fires once.
        """
        self._triggers.append((event, prompt, delay, action))
        return self

    def _fire_triggers(self, event: str | None = None, prompt: str | None = None) -> None:
        remaining = []
        for trigger in self._triggers:
            wanted_event, wanted_prompt, delay, action = trigger
            if (wanted_event is not None and wanted_event == event) or (
                wanted_prompt is not None and prompt is not None and wanted_prompt in prompt
            ):
                gevent.spawn(self._delayed, delay, action)
            else:
                remaining.append(trigger)
        self._triggers = remaining

    def _delayed(self, delay: float, action: Callable[[], None]) -> None:
        channel = self.channel
        if channel is None or (delay > 0 and not channel.sleep_while_up(delay)):
            return
        action()

    def hangup_after_answer(self, delay: float) -> SimulatedCaller:
        """Send BYE ``delay`` s after answer (sipp's ``-d``)."""
        self._steps.append((delay, _OwnMethod("hangup")))
        return self

    def dial(
        self,
        destination: str,
        context: str = "default",
        variables: dict[str, str] | None = None,
    ) -> SimulatedCaller:
        uuid = self.simulator.switch.new_uuid()
        self.simulator.bus.subscribe_channel(uuid, self._on_event, self.followed_events)
        self.channel = self.simulator.place_call(
            destination,
            caller_id_number=self.caller_id_number,
            caller_id_name=self.caller_id_name,
            context=context,
            variables=variables,
            party=self,
            user=self.user,
            port=self.port,
            uuid=uuid,
        )
        if self._steps:
            gevent.spawn(self._run_steps)
        return self

    def _run_steps(self) -> None:
        channel = self.channel
        assert channel is not None
        while not self.answered.is_set():
            if channel.down:
                return
            self.answered.wait(timeout=0.05)
        started = self.simulator.clock.now()
        for delay, action in sorted(self._steps, key=lambda step: step[0]):
            remaining = started + delay - self.simulator.clock.now()
            if remaining > 0 and not channel.sleep_while_up(remaining):
                return
            if channel.down:
                return
            if isinstance(action, _OwnMethod):
                getattr(self, action.name)(*action.args)
            else:
                action()

    def press(self, digits: str) -> None:
        if self.channel is None:
            return
        for digit in digits:
            self.simulator.switch.receive_dtmf(self.channel, digit)

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if self.channel is not None:
            self.simulator.switch.hangup(self.channel, cause, by_peer=True)

    # -- waiting -----------------------------------------------------------------------
    def wait_answered(self, timeout: float = 10.0) -> bool:
        return self.answered.wait(timeout=timeout)

    def wait_hangup(self, timeout: float = 10.0) -> bool:
        return self.hung_up.wait(timeout=timeout)

    def wait_destroyed(self, timeout: float = 10.0) -> bool:
        return self.destroyed.wait(timeout=timeout)

    # -- switch callbacks ----------------------------------------------------------------
    def _on_event(self, event: SwitchEvent) -> None:
        if self.channel is None:
            return
        self.events.append(event.name)
        if self._triggers:
            self._fire_triggers(event=event.name)
        if event.name == "CHANNEL_ANSWER":
            self.answered.set()
        elif event.name == "CHANNEL_HANGUP":
            self.hangup_cause = event.get("Hangup-Cause")
            self.hung_up.set()
        elif event.name == "CHANNEL_DESTROY":
            self.destroyed.set()
            self.simulator.bus.unsubscribe_channel(self.channel.uuid)

    def on_prompt(self, channel: Channel, path: str) -> None:
        self.prompts.append(path)
        if self._triggers:
            self._fire_triggers(prompt=path)

    def on_switch_hangup(self, channel: Channel, cause: str) -> None:
        self.hangup_cause = cause

    def on_destroy(self, channel: Channel) -> None:
        self.destroyed.set()


class SimulatedAgentEndpoint:
    """An agent's phone registered on the switch (``user/<extension>``).

    ``mode``: ``answer`` (after ``answer_delay`` s), ``no_answer``, ``busy``, ``reject``;
    ``registered=False`` makes ``user/<extension>`` fail with USER_NOT_REGISTERED;
    ``talk_time`` hangs up that many seconds after answering.
    """

    def __init__(
        self,
        simulator: SwitchSimulator,
        extension: str,
        mode: str = "answer",
        answer_delay: float = 1.0,
        registered: bool = True,
        talk_time: float | None = None,
        port: int = 5080,
    ) -> None:
        self.simulator = simulator
        self.endpoint: Endpoint = simulator.add_endpoint(
            extension,
            mode=mode,
            answer_delay=answer_delay,
            registered=registered,
            talk_time=talk_time,
            port=port,
        )

    @property
    def extension(self) -> str:
        return self.endpoint.user

    @property
    def channels(self) -> list[Channel]:
        return list(self.endpoint.channels)

    @property
    def current_channel(self) -> Channel | None:
        live = [channel for channel in self.endpoint.channels if channel.up]
        return live[-1] if live else None

    def configure(self, **changes: object) -> None:
        """Change behaviour (mode, answer_delay, registered, talk_time) for the next calls."""
        for name, value in changes.items():
            if not hasattr(self.endpoint, name):
                raise AttributeError(name)
            setattr(self.endpoint, name, value)

    def register(self) -> None:
        self.endpoint.registered = True

    def unregister(self) -> None:
        self.endpoint.registered = False

    def answer(self) -> None:
        """Answer the ringing call now (for ``no_answer`` endpoints driven by a test)."""
        channel = self.current_channel
        if channel is not None and not channel.answered:
            self.simulator.switch.answer(channel)
            self.simulator.switch.flip_caller_id(channel)

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        channel = self.current_channel
        if channel is not None:
            self.simulator.switch.hangup(channel, cause, by_peer=True)

    def press(self, digits: str) -> None:
        channel = self.current_channel
        if channel is not None:
            for digit in digits:
                self.simulator.switch.receive_dtmf(channel, digit)

    def wait_ringing(self, timeout: float = 10.0) -> Channel | None:
        deadline = gevent.get_hub().loop.now() + timeout
        while gevent.get_hub().loop.now() < deadline:
            channel = self.current_channel
            if channel is not None:
                return channel
            gevent.sleep(0.01)
        return None


@dataclass
class TrafficStats:
    offered: int = 0
    completed: int = 0
    callers: list[SimulatedCaller] = field(default_factory=list)


class TrafficGenerator:
    """Open-loop traffic: Poisson arrivals, each caller stays for a drawn handle time.

    ``arrival_rate`` is calls per simulated second; ``handle_time`` draws a duration in
    simulated seconds from the generator's seeded ``random.Random``; ``digits`` optionally
    draws DTMF to press after answer (for IVR menus), or, with ``press_on_prompt``, half a
    second into the first prompt whose path contains that text: ``play_and_get_digits``
    flushes what was pressed before its prompt (switch_play_and_get_digits does), so a
    caller who presses during the greeting is never heard.
    """

    def __init__(
        self,
        simulator: SwitchSimulator,
        destination: str,
        arrival_rate: float,
        handle_time: Callable[[random.Random], float] | None = None,
        seed: int | None = None,
        caller_id_prefix: str = "1555",
        digits: Callable[[random.Random], str] | None = None,
        context: str = "default",
        press_on_prompt: str | None = None,
    ) -> None:
        if arrival_rate <= 0:
            raise ValueError("arrival_rate must be positive")
        self.simulator = simulator
        self.destination = destination
        self.arrival_rate = arrival_rate
        self.random = random.Random(seed)
        self.handle_time = handle_time or (lambda rng: rng.expovariate(1 / 180.0))
        self.caller_id_prefix = caller_id_prefix
        self.digits = digits
        self.press_on_prompt = press_on_prompt
        self.context = context
        self.stats = TrafficStats()
        self._greenlet: gevent.Greenlet | None = None

    def next_interarrival(self) -> float:
        return self.random.expovariate(self.arrival_rate)

    def start(self, duration: float | None = None, max_calls: int | None = None) -> None:
        self._greenlet = gevent.spawn(self._run, duration, max_calls)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def join(self, timeout: float | None = None) -> None:
        if self._greenlet is not None:
            self._greenlet.join(timeout=timeout)

    def _run(self, duration: float | None, max_calls: int | None) -> None:
        clock = self.simulator.clock
        started = clock.now()
        while True:
            clock.sleep(self.next_interarrival())
            if duration is not None and clock.now() - started >= duration:
                return
            if max_calls is not None and self.stats.offered >= max_calls:
                return
            self.place_one()

    def place_one(self) -> SimulatedCaller:
        number = f"{self.caller_id_prefix}{self.random.randrange(10**6):06d}"
        caller = SimulatedCaller(self.simulator, caller_id_number=number, user=number)
        if self.digits is not None:
            digits = self.digits(self.random)
            if self.press_on_prompt:
                caller.when(lambda: caller.press(digits), prompt=self.press_on_prompt, delay=0.5)
            else:
                caller.press_after_answer(1.0, digits)
        hold_for = max(0.0, self.handle_time(self.random))
        caller.hangup_after_answer(hold_for)
        caller.dial(self.destination, context=self.context)
        self.stats.offered += 1
        self.stats.callers.append(caller)
        gevent.spawn(self._count_completion, caller)
        return caller

    def _count_completion(self, caller: SimulatedCaller) -> None:
        caller.destroyed.wait()
        self.stats.completed += 1
