"""Prompt synthesis (8 kHz mono WAV), pinyin conversion, and the render command."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ivr_scripts.synthesis import (
    ASTERISK_SOUNDS_DIR,
    PromptSet,
    missing_tools,
    prompt_path,
    synthesize_free_text,
    synthesize_prompt_set,
    text_path,
    to_pinyin,
)
from tests.telephony.factories import AgentFactory

needs_tools = pytest.mark.skipif(
    bool(missing_tools()), reason=f"needs Debian packages espeak-ng and sox ({missing_tools()})"
)


def assert_8khz_mono(path: Path) -> None:
    with wave.open(str(path), "rb") as handle:
        assert handle.getframerate() == 8000
        assert handle.getnchannels() == 1
        assert handle.getsampwidth() == 2
        assert handle.getnframes() > 8000 * 0.2  # some actual speech


def test_pinyin_with_tone_numbers_and_digits_one_by_one() -> None:
    assert to_pinyin("您好，请按1。") == "nin2 hao3, qing3 an4 yi1."
    assert to_pinyin("12329热线") == "yi1 er4 san1 er4 jiu3 re4 xian4"
    assert to_pinyin("零钱") == "ling2 qian2"


@needs_tools
def test_chinese_prompt_is_synthesized_to_8khz_mono(tmp_path) -> None:
    written = synthesize_prompt_set(PromptSet.load("zh"), tmp_path, only=["welcome_12329"])
    assert written == [prompt_path(tmp_path, "zh", "welcome_12329")]
    assert_8khz_mono(written[0])
    # Existing files are kept unless forced.
    assert synthesize_prompt_set(PromptSet.load("zh"), tmp_path, only=["welcome_12329"]) == []


@needs_tools
@pytest.mark.skipif(
    not (ASTERISK_SOUNDS_DIR / "digits/5.wav").exists(),
    reason="needs Debian package asterisk-core-sounds-en-wav",
)
def test_english_uses_asterisk_recording_when_named(tmp_path) -> None:
    prompts = PromptSet.load("en")
    [digit] = synthesize_prompt_set(prompts, tmp_path, only=["say/5"])
    assert_8khz_mono(digit)
    with wave.open(str(ASTERISK_SOUNDS_DIR / "digits/5.wav"), "rb") as source:
        with wave.open(str(digit), "rb") as copy:
            assert copy.getnframes() == source.getnframes()
    [spoken] = synthesize_prompt_set(prompts, tmp_path, only=["survey_thanks"])
    assert_8khz_mono(spoken)


@needs_tools
def test_free_text_goes_to_its_hashed_path(tmp_path) -> None:
    path = synthesize_free_text("停水通知", "zh", tmp_path)
    assert path == text_path(tmp_path, "zh", "停水通知")
    assert_8khz_mono(path)


@needs_tools
@pytest.mark.django_db
def test_synthesize_prompts_command(tmp_path) -> None:
    call_command("synthesize_prompts", language=["zh"], prompt=["say/7"], output=tmp_path)
    assert_8khz_mono(tmp_path / "zh" / "say" / "7.wav")


@pytest.mark.django_db
def test_synthesize_prompts_command_explains_missing_tools(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(CommandError, match="espeak-ng"):
        call_command("synthesize_prompts", output=tmp_path)


@pytest.mark.django_db
def test_render_freeswitch_conf_from_the_database(tmp_path, settings) -> None:
    from lxml import etree

    from telephony.models import DID

    settings.RECORDINGS_DIR = tmp_path / "recordings"
    AgentFactory(extension="1001", employee_number="8001", sip_password="long-enough-1")
    AgentFactory(extension="1002", employee_number="8002", sip_password="long-enough-2",
                 enabled=False)  # fmt: skip
    DID.objects.create(number="12329", flow="hotline_12329", language="zh")
    call_command("render_freeswitch_conf", str(tmp_path / "conf"), domain="cc.example.com")
    dialplan = (tmp_path / "conf/dialplan/public/00_callcenter.xml").read_text()
    assert "12329" in dialplan and "hotline_12329" in dialplan
    rendered = "".join(p.read_text() for p in (tmp_path / "conf").rglob("*.xml"))
    assert "1001" in rendered and "long-enough-2" not in rendered
    etree.fromstring(dialplan.encode())
    # No trunk configured: no gateway (it is added by hand, docs/freeswitch.md).
    external = (tmp_path / "conf/sip_profiles/external.xml").read_text()
    assert "<gateway " not in external


@pytest.mark.django_db
def test_render_freeswitch_conf_with_the_carrier_trunk(tmp_path, settings, monkeypatch) -> None:
    """The gateway the daemon dials outside numbers through (OUTBOUND_GATEWAY); it was never
    rendered, found on FreeSWITCH 1.10.12."""
    from lxml import etree

    settings.RECORDINGS_DIR = tmp_path / "recordings"
    AgentFactory(extension="1001", employee_number="8001", sip_password="long-enough-1")
    monkeypatch.setenv("TRUNK_REALM", "sip.carrier.example")
    monkeypatch.setenv("TRUNK_USERNAME", "0571888")
    monkeypatch.setenv("TRUNK_PASSWORD", "secret-pass")
    call_command("render_freeswitch_conf", str(tmp_path / "conf"), domain="cc.example.com")
    profile = etree.fromstring((tmp_path / "conf/sip_profiles/external.xml").read_bytes())
    (gateway,) = profile.findall("gateways/gateway")
    params = {p.get("name"): p.get("value") for p in gateway.findall("param")}
    assert gateway.get("name") == settings.OUTBOUND_GATEWAY
    assert params["realm"] == "sip.carrier.example" and params["username"] == "0571888"
    assert params["password"] == "secret-pass" and params["register"] == "true"


@pytest.mark.django_db
def test_render_freeswitch_conf_reports_invalid_context(tmp_path) -> None:
    with pytest.raises(CommandError, match="ring_group.extensions"):
        call_command("render_freeswitch_conf", str(tmp_path / "conf"))
