"""The recording fact: measured from the WAV when this host has it, else the switch's length."""

import wave

from cti.services import CallServices, DaemonSettings


class Facts:
    def __init__(self) -> None:
        self.saved: list[dict] = []

    def recording_saved(self, **fields) -> None:
        self.saved.append(fields)


def services(tmp_path) -> tuple[CallServices, Facts]:
    facts = Facts()
    built = CallServices(
        redis=None,  # type: ignore[arg-type]
        config=lambda: None,  # type: ignore[arg-type,return-value]
        acd=None,  # type: ignore[arg-type]
        notifier=None,  # type: ignore[arg-type]
        facts=facts,  # type: ignore[arg-type]
        prompts=None,  # type: ignore[arg-type]
        ivr=None,  # type: ignore[arg-type]
        settings=DaemonSettings(recordings_dir=str(tmp_path)),
    )
    return built, facts


def test_a_readable_recording_is_measured_from_its_file(tmp_path):
    path = tmp_path / "c1.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0\0\0" * 12_000)
    built, facts = services(tmp_path)
    built.recording_saved("c1", str(path), 7, record_ms="9999")
    [saved] = facts.saved
    assert saved["duration"] == 1.5 and saved["channels"] == 2 and saved["agent_id"] == 7
    assert saved["size"] == path.stat().st_size


def test_a_recording_on_another_host_keeps_the_switchs_length(tmp_path):
    """The switch writes to its own disk; the daemon elsewhere still reports the length."""
    built, facts = services(tmp_path)
    built.recording_saved("c2", "/on/the/switch/c2.wav", None, record_ms="83250")
    [saved] = facts.saved
    assert saved["duration"] == 83.25 and saved["size"] == 0 and saved["channels"] == 1
    built.recording_saved("c3", "/on/the/switch/c3.wav", None)
    assert facts.saved[-1]["duration"] == 0.0
