"""Blacklist and harassment matching against the configuration snapshot's ``blacklist``.

Entries are ``{"pattern", "match": "exact"|"prefix", "direction": "in"|"out"|"both",
"category": "blacklist"|"harassment", "action": "notice"|"drop", "expires_at"}``. An entry
whose ``expires_at`` has passed no longer matches: a harassment block lapses by itself
without anyone deleting it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BlockMatch:
    """The entry that blocks a number: its category, action and pattern."""

    pattern: str
    category: str
    action: str
    expires_at: dt.datetime | None


def normalize_number(number: str) -> str:
    """Digits only, keeping a leading ``+`` (caller IDs arrive as ``+86…``, ``0086…``, ``86…``)."""
    number = number.strip()
    plus = number.startswith("+")
    digits = "".join(ch for ch in number if ch.isdigit())
    return ("+" if plus else "") + digits


def _candidates(number: str) -> set[str]:
    """The spellings of one number an entry may use (with and without +86 / 0086)."""
    number = normalize_number(number)
    spellings = {number}
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            spellings.add(number[len(prefix) :])
    if number.startswith("+"):
        spellings.add(number[1:])
    return {s for s in spellings if s}


def find_block(
    entries: Iterable[Mapping[str, Any]], number: str, direction: str, moment: dt.datetime
) -> BlockMatch | None:
    """The first active entry blocking ``number`` in ``direction`` ("in" or "out").

    Exact matches win over prefixes, and among prefixes the longest wins, so a specific
    entry's action applies rather than a broad one's.
    """
    if not number:
        return None
    spellings = _candidates(number)
    best: tuple[int, BlockMatch] | None = None
    for entry in entries:
        if entry.get("direction", "in") not in (direction, "both"):
            continue
        expires = entry.get("expires_at")
        expires_at = dt.datetime.fromisoformat(expires) if expires else None
        if expires_at is not None and expires_at <= moment:
            continue
        pattern = normalize_number(entry["pattern"])
        pattern_spellings = _candidates(pattern)
        if entry.get("match", "exact") == "exact":
            rank = 1000 if spellings & pattern_spellings else -1
        else:
            lengths = [len(p) for p in pattern_spellings for s in spellings if s.startswith(p)]
            rank = max(lengths) if lengths else -1
        if rank < 0:
            continue
        match = BlockMatch(entry["pattern"], entry["category"], entry["action"], expires_at)
        if best is None or rank > best[0]:
            best = (rank, match)
    return best[1] if best else None
