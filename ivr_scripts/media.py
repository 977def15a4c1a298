"""The media interface the runner drives a call through, and an in-memory fake of it.

The runner never talks to FreeSWITCH itself: it calls a :class:`Media` (the ESL
implementation is :class:`ivr_scripts.esl_media.EslMedia`; unit tests use
:class:`FakeMedia`). Any method raises :class:`CallerHungUp` once the caller is gone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

PromptKind = Literal["prompt", "file", "text"]


class CallerHungUp(Exception):
    """The caller's channel is gone; the flow must end."""

    def __init__(self, cause: str = "NORMAL_CLEARING") -> None:
        super().__init__(f"caller hung up ({cause})")
        self.cause = cause


@dataclass(frozen=True)
class Prompt:
    """One thing to play: a prompt id of a language's set, a sound file, or synthesized text."""

    kind: PromptKind
    value: str
    language: str = "zh"


@dataclass(frozen=True)
class DigitRequest:
    """What to ask for: FreeSWITCH ``play_and_get_digits`` semantics.

    Each try plays ``prompts`` and waits up to ``timeout`` seconds for the first digit and
    ``digit_timeout`` between digits; input ends at ``max_length`` digits or a terminator.
    Input shorter than ``min_length`` or not matching ``pattern`` (a full-match regular
    expression) counts as invalid: ``invalid_prompts`` play and the next try starts. No input
    within the timeout is a failed try as well. ``invalid_prompts`` play after every failed
    try, the last one included: FreeSWITCH's ``switch_play_and_get_digits`` does so.
    """

    prompts: Sequence[Prompt]
    min_length: int = 1
    max_length: int = 1
    tries: int = 3
    timeout: float = 5.0
    digit_timeout: float = 3.0
    terminators: str = "#"
    pattern: str | None = None
    invalid_prompts: Sequence[Prompt] = ()

    def accepts(self, digits: str) -> bool:
        if not self.min_length <= len(digits) <= self.max_length:
            return False
        if self.pattern is not None:
            return re.fullmatch(self.pattern, digits) is not None
        return re.fullmatch(r"[0-9*#]*", digits) is not None


@dataclass(frozen=True)
class Recording:
    """A recorded message: where it was written and how long it is."""

    path: str
    duration_seconds: float


class Media(Protocol):
    """The call as the runner sees it. Every method raises :class:`CallerHungUp`."""

    def play(self, prompts: Sequence[Prompt]) -> None:
        """Play the prompts in order (no input expected)."""

    def collect_digits(self, request: DigitRequest) -> str:
        """Ask for digits; the accepted input without terminator, or ``""`` after all tries."""

    def record(self, path: str, max_seconds: int, silence_seconds: int) -> Recording:
        """Record the caller into ``path`` until ``#``, silence, hang-up or ``max_seconds``.

        A caller who hangs up while recording still leaves the message: implementations
        return the recording rather than raising in that case.
        """

    def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (visible in the CDR and to later dialplan)."""

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """Hang the call up."""


HANGUP = object()
"""In :class:`FakeMedia` input: the caller hangs up while being asked for digits."""


@dataclass
class FakeMedia:
    """A scripted caller for unit tests.

    ``inputs`` holds one entry per try of each digit request: a string of keys (a terminator
    ends it, as on a phone), ``None`` for silence until the timeout, or :data:`HANGUP`.
    ``hang_up_at`` hangs up when the media operation with that index (0-based, counting
    play, collect, record) starts. ``log`` records everything the caller heard and did.
    """

    inputs: list[object] = field(default_factory=list)
    hang_up_at: int | None = None
    recording_seconds: float = 7.5
    hang_up_while_recording: bool = False
    log: list[tuple[str, object]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    hung_up: bool = False
    hangup_cause: str | None = None
    operations: int = 0

    def _begin(self) -> None:
        if self.hung_up:
            raise CallerHungUp(self.hangup_cause or "NORMAL_CLEARING")
        index = self.operations
        self.operations += 1
        if self.hang_up_at is not None and index >= self.hang_up_at:
            self._caller_hangs_up()

    def _caller_hangs_up(self) -> None:
        self.hung_up = True
        self.hangup_cause = "NORMAL_CLEARING"
        self.log.append(("caller_hangup", None))
        raise CallerHungUp("NORMAL_CLEARING")

    @property
    def heard(self) -> list[str]:
        """Every prompt value played, in order (prompt ids, files and texts)."""
        return [p.value for kind, item in self.log if kind == "play" for p in item]  # type: ignore[attr-defined]

    def play(self, prompts: Sequence[Prompt]) -> None:
        self._begin()
        self.log.append(("play", tuple(prompts)))

    def collect_digits(self, request: DigitRequest) -> str:
        self._begin()
        for _attempt in range(request.tries):
            self.log.append(("play", tuple(request.prompts)))
            if not self.inputs:
                raise AssertionError(f"the script has no input left for {request}")
            entry = self.inputs.pop(0)
            if entry is HANGUP:
                self._caller_hangs_up()
            digits = ""
            if isinstance(entry, str):
                for key in entry:
                    if key in request.terminators:
                        break
                    digits += key
                    if len(digits) >= request.max_length:
                        break
            self.log.append(("keys", entry))
            if digits and request.accepts(digits):
                return digits
            # As FreeSWITCH: after every failed try, the last one included.
            self.log.append(("play", tuple(request.invalid_prompts)))
        return ""

    def record(self, path: str, max_seconds: int, silence_seconds: int) -> Recording:
        self._begin()
        self.log.append(("record", path))
        if self.hang_up_while_recording:
            self.hung_up = True
            self.hangup_cause = "NORMAL_CLEARING"
        return Recording(path, min(self.recording_seconds, max_seconds))

    def set_variable(self, name: str, value: str) -> None:
        if self.hung_up:
            raise CallerHungUp(self.hangup_cause or "NORMAL_CLEARING")
        self.variables[name] = value

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if not self.hung_up:
            self.hung_up = True
            self.hangup_cause = cause
            self.log.append(("hangup", cause))
