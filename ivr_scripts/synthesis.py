"""Offline prompt synthesis: espeak-ng for speech, sox for 8 kHz mono 16-bit WAV.

Chinese text is turned into tone-numbered pinyin (pypinyin) for espeak-ng's
``cmn-latn-pinyin`` voice, which reads pinyin; the plain ``cmn`` voice would spell hanzi out
as English. Digits are read one by one (12329 → yi1 er4 san1 er4 jiu3), as hotline numbers
are. English prompts copy Debian's asterisk-core-sounds-en-wav recording when the prompt set
names one (``asterisk_sounds``) and fall back to espeak-ng's ``en`` voice.

Generated files live under ``var/prompts/<language>/`` (never committed): a prompt id
``say/5`` becomes ``var/prompts/zh/say/5.wav``; free text (emergency notices, ``text`` prompt
items) becomes ``var/prompts/<language>/tts/<hash>.wav``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROMPTS_DIR = Path(__file__).with_name("prompts")
ASTERISK_SOUNDS_DIR = Path("/usr/share/asterisk/sounds/en")
VOICES = {"zh": "cmn-latn-pinyin", "en": "en"}
SAMPLE_RATE = 8000
_ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
_ZH_PUNCTUATION = {
    "，": ", ",
    "。": ". ",
    "、": ", ",
    "；": "; ",
    "：": ": ",
    "？": "? ",
    "！": "! ",
}


class SynthesisError(RuntimeError):
    """A prompt could not be produced (missing tool, failed command)."""


@dataclass(frozen=True)
class PromptSet:
    """One language's prompts: id → text, and Asterisk recordings to reuse (English)."""

    language: str
    prompts: dict[str, str]
    asterisk_sounds: dict[str, str]

    @classmethod
    def load(cls, language: str, directory: Path = PROMPTS_DIR) -> PromptSet:
        data = json.loads((directory / f"{language}.json").read_text(encoding="utf-8"))
        return cls(language, dict(data["prompts"]), dict(data.get("asterisk_sounds", {})))


def missing_tools() -> list[str]:
    """The command-line tools synthesis needs that are not installed."""
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def prompt_path(root: Path | str, language: str, prompt_id: str) -> Path:
    """Where a prompt id's WAV file lives."""
    return Path(root) / language / f"{prompt_id}.wav"


def text_path(root: Path | str, language: str, text: str) -> Path:
    """Where synthesized free text lives: named by a hash of language and text."""
    digest = hashlib.sha1(f"{language}\n{text}".encode()).hexdigest()[:20]
    return Path(root) / language / "tts" / f"{digest}.wav"


def to_pinyin(text: str) -> str:
    """Tone-numbered pinyin for espeak-ng's cmn-latn-pinyin voice; digits one by one."""
    from pypinyin import Style, lazy_pinyin

    spelled = "".join(_ZH_DIGITS.get(ch, ch) for ch in text)
    # errors: keep non-hanzi runs (punctuation, Latin letters) as they are.
    syllables = lazy_pinyin(
        spelled,
        style=Style.TONE3,
        neutral_tone_with_five=True,
        errors=lambda chars: [chars],  # type: ignore[arg-type,return-value]
    )
    words: list[str] = []
    for syllable in syllables:
        for source, replacement in _ZH_PUNCTUATION.items():
            syllable = syllable.replace(source, replacement)
        words.append(syllable.strip())
    return " ".join(word for word in words if word).replace(" ,", ",").replace(" .", ".")


def speech_text(text: str, language: str) -> str:
    return to_pinyin(text) if language == "zh" else text


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    except FileNotFoundError as error:
        raise SynthesisError(f"{command[0]} is not installed") from error
    except subprocess.CalledProcessError as error:
        raise SynthesisError(
            f"{command[0]} failed: {error.stderr.decode(errors='replace')[:500]}"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise SynthesisError(f"{command[0]} timed out") from error


def _resample(source: Path, target: Path) -> None:
    """Write ``source`` as 8 kHz mono 16-bit WAV to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".wav", dir=target.parent)
    os.close(handle)
    try:
        _run(["sox", str(source), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", temporary])
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def synthesize_text(text: str, language: str, target: Path) -> Path:
    """Speak ``text`` in ``language`` into ``target`` (8 kHz mono WAV)."""
    voice = VOICES.get(language)
    if voice is None:
        raise SynthesisError(f"no voice for language {language!r}")
    with tempfile.TemporaryDirectory() as directory:
        raw = Path(directory) / "speech.wav"
        _run(
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                "150",
                "-w",
                str(raw),
                "--",
                speech_text(text, language),
            ]
        )
        _resample(raw, target)
    return target


def synthesize_prompt(
    prompt_set: PromptSet,
    prompt_id: str,
    root: Path | str,
    asterisk_dir: Path = ASTERISK_SOUNDS_DIR,
) -> Path:
    """Produce one prompt of a set: the Asterisk recording when there is one, else speech."""
    target = prompt_path(root, prompt_set.language, prompt_id)
    recording = prompt_set.asterisk_sounds.get(prompt_id)
    if recording is not None:
        source = asterisk_dir / f"{recording}.wav"
        if source.exists():
            _resample(source, target)
            return target
    return synthesize_text(prompt_set.prompts[prompt_id], prompt_set.language, target)


def synthesize_prompt_set(
    prompt_set: PromptSet,
    root: Path | str,
    only: Iterable[str] | None = None,
    force: bool = False,
    asterisk_dir: Path = ASTERISK_SOUNDS_DIR,
) -> list[Path]:
    """Produce the prompts of a set that are missing (or all with ``force``); the written paths."""
    written = []
    for prompt_id in sorted(only if only is not None else prompt_set.prompts):
        if prompt_id not in prompt_set.prompts:
            raise SynthesisError(f"{prompt_set.language} has no prompt {prompt_id!r}")
        if not force and prompt_path(root, prompt_set.language, prompt_id).exists():
            continue
        written.append(synthesize_prompt(prompt_set, prompt_id, root, asterisk_dir))
    return written


def synthesize_free_text(text: str, language: str, root: Path | str, force: bool = False) -> Path:
    """Synthesize a ``text`` prompt item or an emergency notice into its hashed path."""
    target = text_path(root, language, text)
    if force or not target.exists():
        synthesize_text(text, language, target)
    return target
