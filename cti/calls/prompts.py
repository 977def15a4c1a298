"""Where the daemon finds its prompts, and how it composes spoken numbers from them.

Prompts are WAV files under `<prompts_dir>/<language>/<prompt id>.wav` (synthesized by the
IVR tooling, or recorded by the center). Numbers are read digit by digit from the
`say/<d>` prompts of the IVR's prompt set, as Chinese hotlines read work numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=4096)
def _path(directory: Path, language: str, prompt_id: str) -> str:
    # A handful of prompts are asked for on every call: join each path once.
    return str(directory / language / f"{prompt_id}.wav")


@dataclass(frozen=True)
class Prompts:
    directory: Path

    def path(self, language: str, prompt_id: str) -> str:
        return _path(self.directory, language, prompt_id)

    def digits(self, language: str, number: str | int) -> list[str]:
        return [self.path(language, f"say/{digit}") for digit in str(number) if digit.isdigit()]

    def sequence(self, paths: list[str]) -> str:
        """FreeSWITCH plays `file_string://a!b!c` as one playback."""
        return paths[0] if len(paths) == 1 else "file_string://" + "!".join(paths)

    def employee_number(self, language: str, number: str) -> str:
        """服务报号: "工号 1 0 0 1 为您服务"."""
        return self.sequence(
            [
                self.path(language, "agent_number_before"),
                *self.digits(language, number),
                self.path(language, "agent_number_after"),
            ]
        )

    def queue_position(self, language: str, position: int, wait_minutes: int | None) -> str:
        parts = [
            self.path(language, "queue_position_before"),
            *self.digits(language, position),
            self.path(language, "queue_position_after"),
        ]
        if wait_minutes is not None:
            parts += [
                self.path(language, "queue_wait_before"),
                *self.digits(language, max(1, wait_minutes)),
                self.path(language, "queue_wait_after"),
            ]
        return self.sequence(parts)
