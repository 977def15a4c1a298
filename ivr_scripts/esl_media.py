"""The :class:`~ivr_scripts.media.Media` protocol over an outbound Event Socket session.

Each operation is one FreeSWITCH dialplan application run with ``sendmsg``/``execute``
(``playback``, ``play_and_get_digits``, ``record``, ``set``) and waited for until its
CHANNEL_EXECUTE_COMPLETE. Several prompts play as one ``file_string://a!b`` so the caller
hears no gap between the words of a number (mod_say_zh may be absent, so numbers are
composed from prompt files; see ivr_scripts/say.py).
"""

from __future__ import annotations

import time
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cti.esl.outbound import ChannelHangup
from ivr_scripts.media import CallerHungUp, DigitRequest, Prompt, Recording
from ivr_scripts.synthesis import prompt_path, text_path

DIGITS_VARIABLE = "ivr_collected_digits"
NO_INVALID_PROMPT = "silence_stream://250"


class EslMedia:
    """Drives one call's media through ``cti.esl.outbound.OutboundSession``.

    ``prompt_root`` is where FreeSWITCH finds the prompt sets (``<root>/<lang>/<id>.wav``):
    the directory ``synthesize_prompts`` fills, as the switch sees it.
    """

    def __init__(self, session: Any, prompt_root: str | Path) -> None:
        self.session = session
        self.prompt_root = Path(prompt_root)

    def path_of(self, prompt: Prompt) -> str:
        if prompt.kind == "file":
            return prompt.value
        if prompt.kind == "text":
            return str(text_path(self.prompt_root, prompt.language, prompt.value))
        return str(prompt_path(self.prompt_root, prompt.language, prompt.value))

    def sound(self, prompts: Sequence[Prompt]) -> str:
        """One playable argument for a sequence of prompts."""
        paths = [self.path_of(p) for p in prompts]
        if len(paths) == 1:
            return paths[0]
        return "file_string://" + "!".join(paths)

    def _execute(self, app: str, arg: str = "") -> Any:
        try:
            return self.session.execute(app, arg)
        except ChannelHangup as hangup:
            raise CallerHungUp(hangup.cause or "NORMAL_CLEARING") from hangup

    def answer(self) -> None:
        self._execute("answer")

    def play(self, prompts: Sequence[Prompt]) -> None:
        if prompts:
            self._execute("playback", self.sound(prompts))

    def collect_digits(self, request: DigitRequest) -> str:
        pattern = request.pattern or "[0-9*#]+"
        arguments = [
            str(request.min_length),
            str(request.max_length),
            str(request.tries),
            str(int(request.timeout * 1000)),
            request.terminators or "none",
            self.sound(request.prompts) if request.prompts else "silence_stream://250",
            self.sound(request.invalid_prompts) if request.invalid_prompts else NO_INVALID_PROMPT,
            DIGITS_VARIABLE,
            # FreeSWITCH's regex match is unanchored; the flow's pattern means the whole input.
            f"^(?:{pattern})$",
            str(int(request.digit_timeout * 1000)),
        ]
        event = self._execute("play_and_get_digits", " ".join(arguments))
        digits = event.variable(DIGITS_VARIABLE) if event is not None else None
        return digits or ""

    def record(self, path: str, max_seconds: int, silence_seconds: int) -> Recording:
        # A caller gone before the switch starts recording left no message: that is a hang-up
        # (CallerHungUp), not an empty recording to announce to the group.
        self._execute("set", "playback_terminators=#")
        if getattr(self.session, "hung_up", False):
            raise CallerHungUp(getattr(self.session, "hangup_cause", None) or "NORMAL_CLEARING")
        started = time.monotonic()
        try:
            event = self.session.execute("record", f"{path} {max_seconds} 200 {silence_seconds}")
        except ChannelHangup:
            # Hanging up is how many callers end a message; FreeSWITCH keeps the file.
            return Recording(path, _local_seconds(path) or round(time.monotonic() - started, 3))
        milliseconds = event.variable("record_ms") if event is not None else None
        if milliseconds and milliseconds.isdigit():
            return Recording(path, int(milliseconds) / 1000)
        return Recording(path, _local_seconds(path) or 0.0)

    def set_variable(self, name: str, value: str) -> None:
        self._execute("set", f"{name}={value}")

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if getattr(self.session, "hung_up", False):
            return
        try:
            self.session.hangup(cause)
        except ChannelHangup:
            pass  # already gone: the goal is reached


def _local_seconds(path: str) -> float | None:
    """The length of a recording when the daemon shares the switch's recordings directory."""
    try:
        with wave.open(path, "rb") as handle:
            return round(handle.getnframes() / float(handle.getframerate()), 3)
    except (OSError, wave.Error, EOFError):
        return None
