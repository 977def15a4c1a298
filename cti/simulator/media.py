"""Prompt durations and recordings on disk."""

from __future__ import annotations

import functools
import math
import os
import re
import struct
import wave

_TONE_SEGMENT = re.compile(r"%\(([^)]*)\)")


def tone_stream_seconds(spec: str) -> float | None:
    """Length of a ``tone_stream://`` spec; None when it loops forever."""
    body = spec[len("tone_stream://") :]
    loops = 1
    loop_match = re.search(r"loops=(-?\d+)", body)
    if loop_match:
        loops = int(loop_match.group(1))
        if loops < 0:
            return None
    total_ms = 0.0
    for segment in _TONE_SEGMENT.findall(body):
        parts = [p.strip() for p in segment.split(",")]
        try:
            on_ms = float(parts[0]) if parts and parts[0] else 0.0
            off_ms = float(parts[1]) if len(parts) > 1 and parts[1] else 0.0
        except ValueError:
            continue
        total_ms += on_ms + off_ms
    return total_ms * max(loops, 1) / 1000.0


# Durations of the WAV files read so far, by path, with the file's identity then (a file
# replaced or rewritten is read again). Prompts repeat on every call: one stat instead of
# opening and parsing the file each time.
_WAV_SECONDS: dict[str, tuple[tuple[int, int, int], float | None]] = {}


def wav_seconds(path: str) -> float | None:
    """The WAV file's duration; None when it does not exist or is not a WAV file."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    identity = (status.st_mtime_ns, status.st_size, status.st_ino)
    cached = _WAV_SECONDS.get(path)
    if cached is not None and cached[0] == identity:
        return cached[1]
    try:
        with wave.open(path, "rb") as handle:
            seconds: float | None = handle.getnframes() / float(handle.getframerate())
    except (OSError, wave.Error, EOFError):
        seconds = None
    if len(_WAV_SECONDS) >= 10_000:
        _WAV_SECONDS.clear()
    _WAV_SECONDS[path] = (identity, seconds)
    return seconds


def prompt_seconds(path: str, default_seconds: float, sound_prefix: str = "") -> float | None:
    """How long playing ``path`` takes; None means it never ends on its own."""
    if path.startswith("tone_stream://"):
        return tone_stream_seconds(path)
    if path.startswith("silence_stream://"):
        head = path[len("silence_stream://") :].split(",")[0]
        try:
            milliseconds = int(head)
        except ValueError:
            return default_seconds
        return None if milliseconds < 0 else milliseconds / 1000.0
    if path.startswith("local_stream://"):
        return None
    if path.startswith("file_string://"):
        total = 0.0
        for part in path[len("file_string://") :].split("!"):
            seconds = prompt_seconds(part, default_seconds, sound_prefix)
            if seconds is None:
                return None
            total += seconds
        return total
    candidates = [path]
    if sound_prefix and not os.path.isabs(path):
        candidates.append(os.path.join(sound_prefix, path))
    for candidate in candidates:
        seconds = wav_seconds(candidate)
        if seconds is not None:
            return seconds
    return default_seconds


def file_exists(path: str, sound_prefix: str = "") -> bool:
    if "://" in path:
        return True
    if os.path.exists(path):
        return True
    return bool(sound_prefix) and os.path.exists(os.path.join(sound_prefix, path))


def write_recording(path: str, seconds: float, rate: int = 8000, max_seconds: float = 600) -> None:
    """Write a real 16-bit mono WAV of ``seconds`` (a quiet 440 Hz tone, so it is not empty).

    The bytes are those the ``wave`` module writes (a 44-byte RIFF header, then the
    samples), in one write.
    """
    frames = int(min(max(seconds, 0.0), max_seconds) * rate)
    # A 440 Hz tone repeats exactly every second: build that second once, then repeat it.
    second = _tone_second(rate)
    whole, rest = divmod(frames, rate)
    data = second * whole + second[: rest * 2]
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(data),
    )
    try:
        handle = open(path, "wb")
    except FileNotFoundError:
        directory = os.path.dirname(path)
        if not directory:
            raise
        os.makedirs(directory, exist_ok=True)
        handle = open(path, "wb")
    with handle:
        handle.write(header + data)


@functools.lru_cache(maxsize=4)
def _tone_second(rate: int) -> bytes:
    return b"".join(
        struct.pack("<h", int(800 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(rate)
    )
