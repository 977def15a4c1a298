"""Flow versions validated on save, shipped-flow loading, and publication to Redis on commit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from ivr import models as m
from ivr import services
from ivr_scripts.store import FLOWS_KEY, FlowSnapshotReader

pytestmark = pytest.mark.django_db

SIMPLE = {
    "code": "simple",
    "name": "Simple",
    "start": "bye",
    "nodes": {"bye": {"type": "hangup", "prompts": ["goodbye"]}},
}


def test_invalid_definition_is_refused_on_save() -> None:
    flow = m.Flow.objects.create(code="simple", name="Simple")
    with pytest.raises(ValidationError) as error:
        m.FlowVersion.objects.create(
            flow=flow, number=1, definition={"code": "simple", "start": "x", "nodes": {}}
        )
    assert "definition" in error.value.message_dict
    with pytest.raises(ValidationError):
        m.FlowVersion.objects.create(flow=flow, number=1, definition={**SIMPLE, "code": "other"})
    assert not m.FlowVersion.objects.exists()


def test_save_flow_version_numbers_and_skips_unchanged(django_capture_on_commit_callbacks) -> None:
    first, created = services.save_flow_version(SIMPLE)
    assert (first.number, created) == (1, True)
    again, created = services.save_flow_version(json.loads(json.dumps(SIMPLE)))
    assert (again.pk, created) == (first.pk, False)
    changed = {**SIMPLE, "nodes": {"bye": {"type": "hangup"}}}
    second, created = services.save_flow_version(changed)
    assert (second.number, created) == (2, True)
    assert second.flow.current_version == second


def test_load_ivr_flows_command_loads_shipped_flows_once(tmp_path) -> None:
    call_command("load_ivr_flows")
    assert set(m.Flow.objects.values_list("code", flat=True)) == {
        "hotline_12329", "survey", "voicemail"
    }  # fmt: skip
    call_command("load_ivr_flows")
    assert m.FlowVersion.objects.count() == 3
    source = services.FLOWS_DIR / "survey.json"
    survey = json.loads(source.read_text(encoding="utf-8"))
    survey["nodes"]["ask"]["tries"] = 3
    (tmp_path / "survey.json").write_text(json.dumps(survey), encoding="utf-8")
    call_command("load_ivr_flows", directory=tmp_path)
    assert m.Flow.objects.get(code="survey").current_version.number == 2


def test_load_ivr_flows_reports_invalid_files(tmp_path) -> None:
    from django.core.management.base import CommandError

    (tmp_path / "bad.json").write_text(json.dumps({"code": "bad", "nodes": {}}), encoding="utf-8")
    with pytest.raises(CommandError, match="bad.json"):
        call_command("load_ivr_flows", directory=tmp_path)


def test_commit_publishes_flows_and_active_notices(
    redis_client, django_capture_on_commit_callbacks, tmp_path
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.load_flow_files()
    assert len(callbacks) == 1  # one publication for the whole load
    reader = FlowSnapshotReader(redis_client)
    assert reader.refresh()
    assert set(reader.current.flows) == {"hotline_12329", "survey", "voicemail"}
    first_version = reader.current.version
    # Polling an unchanged version reads the version counter only, not the flows.
    redis_client.set(FLOWS_KEY, "not read while the version is unchanged")
    assert reader.refresh() is False

    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.create_emergency_notice(
            text="今天下午系统维护。", language="zh", starts_at=now - dt.timedelta(minutes=5),
            ends_at=now + dt.timedelta(hours=1), flow_codes=["hotline_12329"],
            root=tmp_path,
        )  # fmt: skip
        m.EmergencyNotice.objects.create(
            text="old", language="zh", starts_at=now - dt.timedelta(days=2),
            ends_at=now - dt.timedelta(days=1),
        )  # fmt: skip
    assert reader.refresh()
    assert reader.current.version > first_version
    [notice] = reader.current.notices
    assert notice.flows == ("hotline_12329",)
    active = reader.current.active_notices("hotline_12329", "zh", now)
    assert [n.text for n in active] == ["今天下午系统维护。"]
    assert reader.current.active_notices("survey", "zh", now) == []
    stored = json.loads(redis_client.get(FLOWS_KEY))
    assert stored["flows"]["survey"]["version"] == 1


def test_nothing_is_published_when_the_transaction_rolls_back(
    redis_client, django_capture_on_commit_callbacks
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.save_flow_version(SIMPLE)
            raise RuntimeError("abort")
    assert callbacks == []
    assert redis_client.get(FLOWS_KEY) is None


def test_notice_validation() -> None:
    now = timezone.now()
    with pytest.raises(ValidationError):
        services.create_emergency_notice(
            text="x", language="zh", starts_at=now, ends_at=now - dt.timedelta(hours=1)
        )
    with pytest.raises(ValidationError):
        services.create_emergency_notice(
            text="x", language="zh", starts_at=now, ends_at=now + dt.timedelta(hours=1),
            flow_codes=["nope"],
        )  # fmt: skip


def test_notice_needs_a_supervisor(make_user) -> None:
    from django.core.exceptions import PermissionDenied

    now = timezone.now()
    with pytest.raises(PermissionDenied):
        services.create_emergency_notice(
            text="x", language="zh", starts_at=now, ends_at=now + dt.timedelta(hours=1),
            user=make_user("agent1", "agent"),
        )  # fmt: skip


def test_notice_is_synthesized_when_the_tools_are_installed(tmp_path) -> None:
    from ivr_scripts.synthesis import missing_tools

    if missing_tools():
        pytest.skip(f"needs Debian packages espeak-ng and sox ({missing_tools()})")
    now = timezone.now()
    notice = services.create_emergency_notice(
        text="系统维护通知。", language="zh", starts_at=now, ends_at=now + dt.timedelta(hours=1),
        root=tmp_path,
    )  # fmt: skip
    import wave

    with wave.open(notice.audio_path, "rb") as handle:
        assert (handle.getframerate(), handle.getnchannels()) == (8000, 1)


@pytest.mark.parametrize(
    "model", ["flow", "flowversion", "emergencynotice", "voicemailmessage", "housingfundaccount"]
)
def test_admin_screens_load(admin_client, model) -> None:
    services.load_flow_files()
    call_command("seed_housing_fund_demo")
    assert admin_client.get(f"/admin/ivr/{model}/").status_code == 200
    assert admin_client.get(f"/admin/ivr/{model}/add/").status_code == 200


def test_admin_saves_an_edited_flow_as_a_new_version(admin_client) -> None:
    services.load_flow_files()
    survey = m.Flow.objects.get(code="survey")
    definition = survey.current_version.definition
    definition["nodes"]["ask"]["tries"] = 4
    response = admin_client.post(
        "/admin/ivr/flowversion/add/", {"flow": survey.pk, "definition": json.dumps(definition)}
    )
    assert response.status_code == 302
    assert survey.current_version.number == 2
    assert survey.current_version.source == "editor"
    bad = {**definition, "start": "nowhere"}
    response = admin_client.post(
        "/admin/ivr/flowversion/add/", {"flow": survey.pk, "definition": json.dumps(bad)}
    )
    assert response.status_code == 200  # the form shows the problem
    assert "nowhere" in response.content.decode()
    assert survey.current_version.number == 2
