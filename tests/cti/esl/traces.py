"""Access to the recorded FreeSWITCH sessions in ../shared/fs-traces and their scenario.md."""

from __future__ import annotations

import json
import os
import pathlib
import re
from dataclasses import dataclass, field

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[3]
TRACES = pathlib.Path(
    os.environ.get("FS_TRACES_DIR", REPOSITORY.parent / "shared" / "fs-traces")
).resolve()

_CONNECTION_ROW = re.compile(
    r"^\| `(?P<name>[^`]+)` \| (?P<kind>\w+) \| (?P<rx>\d+) \| (?P<tx>\d+) \| "
    r"(?P<frames>\d+) \| (?P<events>\d+) \|$",
    re.MULTILINE,
)
_EVENT_LINE = re.compile(r"^\s*\d+\.\d+\s+(CUSTOM \S+|\S+)")
_FRAME_LINE = re.compile(r"^\s*\d+\.\d+\s+(\S+)")


@dataclass
class Connection:
    """One recorded TCP connection and what its scenario.md says about it."""

    scenario: str
    name: str
    kind: str
    bytes_rx: int
    frames_rx: int
    events_rx: int
    event_names: list[str] = field(default_factory=list)
    other_frame_types: list[str] = field(default_factory=list)

    @property
    def folder(self) -> pathlib.Path:
        return TRACES / self.scenario

    @property
    def rx_path(self) -> pathlib.Path:
        return self.folder / f"{self.name}.rx"

    def rx_bytes(self) -> bytes:
        return self.rx_path.read_bytes()

    def rx_chunks(self) -> list[bytes]:
        """The received bytes cut at the recorded recv() boundaries."""
        chunks = []
        for line in (self.folder / f"{self.name}.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record["dir"] == "rx":
                chunks.append(record["data"].encode("utf-8"))
        return chunks

    def tx_commands(self) -> list[str]:
        """What the recorder sent, one entry per command (split on the blank line)."""
        text = (self.folder / f"{self.name}.tx").read_text()
        return [part for part in text.split("\n\n") if part]

    def __str__(self) -> str:
        return f"{self.scenario}/{self.name}"


def _code_block_after(section: str, heading: str) -> list[str]:
    if heading not in section:
        return []
    block = section.split(heading, 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def load_connections() -> list[Connection]:
    """Every connection of every scenario, with counts parsed from the scenario tables."""
    if not TRACES.is_dir():
        return []
    connections = []
    for scenario_md in sorted(TRACES.glob("*/scenario.md")):
        text = scenario_md.read_text()
        for row in _CONNECTION_ROW.finditer(text):
            connection = Connection(
                scenario=scenario_md.parent.name,
                name=row["name"],
                kind=row["kind"],
                bytes_rx=int(row["rx"]),
                frames_rx=int(row["frames"]),
                events_rx=int(row["events"]),
            )
            marker = f"## Observed on `{connection.name}`"
            section = text.split(marker, 1)[1].split("\n## ", 1)[0] if marker in text else ""
            for line in _code_block_after(section, "Events in order"):
                match = _EVENT_LINE.match(line)
                if match:
                    connection.event_names.append(match.group(1))
            for line in _code_block_after(section, "Frames other than events"):
                match = _FRAME_LINE.match(line)
                if match:
                    connection.other_frame_types.append(match.group(1))
            connections.append(connection)
    return connections


CONNECTIONS = load_connections()

requires_traces = pytest.mark.skipif(not CONNECTIONS, reason=f"no fs-traces at {TRACES}")


def connection(scenario: str, name: str) -> Connection:
    for candidate in CONNECTIONS:
        if candidate.scenario == scenario and candidate.name == name:
            return candidate
    pytest.skip(f"trace {scenario}/{name} not available")
    raise AssertionError  # unreachable, pytest.skip raises
