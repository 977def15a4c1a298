"""Voicemail messages with notifications and desk listing; harassment blocks that lapse."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cti.config import ConfigSnapshotReader
from ivr import services
from ivr.models import VoicemailMessage, VoicemailNotification
from ivr_scripts.media import FakeMedia
from ivr_scripts.runner import CallContext, FlowRunner, Hangup
from ivr_scripts.store import FlowSnapshot
from telephony.models import GroupMembership
from tests.ivr_scripts.helpers import library, shipped_flow
from tests.telephony.factories import AgentFactory, AgentGroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_with_agents(make_user):
    group = AgentGroupFactory(name="Hotline")
    ann, bob, eve = make_user("ann", "agent"), make_user("bob", "agent"), make_user("eve", "agent")
    for user in (ann, bob):
        GroupMembership.objects.create(agent=AgentFactory(user=user), group=group)
    GroupMembership.objects.create(agent=AgentFactory(user=None), group=group)  # no account
    AgentFactory(user=eve)  # another group's agent
    return group, ann, bob, eve


def test_voicemail_notifies_the_groups_agents_once(group_with_agents) -> None:
    group, ann, bob, eve = group_with_agents
    message = services.record_voicemail(
        call_uuid="c1", recording_path="/rec/voicemail/c1.wav", duration_seconds=12.345,
        caller="13900000000", group_id=group.id, queue="hotline_12329",
    )  # fmt: skip
    again = services.record_voicemail(
        call_uuid="c1", recording_path="/x.wav", duration_seconds=1, group_id=group.id
    )
    assert again.pk == message.pk and again.recording_path == "/rec/voicemail/c1.wav"
    users = set(VoicemailNotification.objects.values_list("user__username", flat=True))
    assert users == {"ann", "bob"}
    assert list(services.voicemails_for(ann)) == [message]
    assert list(services.voicemails_for(eve)) == []


def test_voicemail_for_an_unknown_group_is_kept_without_notifications() -> None:
    message = services.record_voicemail(
        call_uuid="c2", recording_path="/r.wav", duration_seconds=3, group_id=999
    )
    assert message.group_id is None
    assert not VoicemailNotification.objects.exists()


def test_status_transitions_and_permissions(group_with_agents) -> None:
    group, ann, bob, eve = group_with_agents
    message = services.record_voicemail(
        call_uuid="c3", recording_path="/r.wav", duration_seconds=3, group_id=group.id
    )
    with pytest.raises(PermissionDenied):
        services.change_voicemail_status(message, "heard", eve)
    services.change_voicemail_status(message, "heard", ann)
    assert VoicemailNotification.objects.get(user=ann).read_at is not None
    assert VoicemailNotification.objects.get(user=bob).read_at is None
    services.change_voicemail_status(message, "handled", bob)
    message.refresh_from_db()
    assert (message.status, message.handled_by) == ("handled", bob)
    with pytest.raises(ValidationError):
        services.change_voicemail_status(message, "new", bob)


def test_desk_api_lists_and_updates_messages(client, group_with_agents) -> None:
    group, ann, bob, eve = group_with_agents
    message = services.record_voicemail(
        call_uuid="c4", recording_path="/r.wav", duration_seconds=3, group_id=group.id
    )
    client.force_login(ann)
    listing = client.get("/api/ivr/voicemails/").json()
    rows = listing["results"] if isinstance(listing, dict) else listing
    assert [row["call_uuid"] for row in rows] == ["c4"]
    assert rows[0]["group_name"] == "Hotline"
    response = client.post(f"/api/ivr/voicemails/{message.pk}/status/", {"status": "handled"})
    assert response.status_code == 200 and response.json()["status"] == "handled"
    bad = client.post(f"/api/ivr/voicemails/{message.pk}/status/", {"status": "heard"})
    assert bad.status_code == 400
    client.force_login(eve)
    assert client.get(f"/api/ivr/voicemails/{message.pk}/").status_code == 404
    assert VoicemailMessage.objects.count() == 1


def test_supervisor_marks_a_harassing_number_that_lapses(
    make_user, redis_client, django_capture_on_commit_callbacks
) -> None:
    supervisor = make_user("sue", "supervisor")
    until = timezone.now() + dt.timedelta(hours=2)
    with pytest.raises(PermissionDenied):
        services.mark_harassing_number(user=make_user("al", "agent"), number="13911112222",
                                       expires_at=until)  # fmt: skip
    with pytest.raises(ValidationError):
        past = timezone.now() - dt.timedelta(minutes=1)
        services.mark_harassing_number(user=supervisor, number="13911112222", expires_at=past)
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.mark_harassing_number(
            user=supervisor, number="13911112222", expires_at=until, action="drop"
        )
    assert (entry.category, entry.action) == ("harassment", "drop")

    reader = ConfigSnapshotReader(redis_client)
    assert reader.refresh()
    runner_library: FlowSnapshot = library(shipped_flow("hotline_12329"))

    def call(at):
        runner = FlowRunner(flows=runner_library, config=reader.current, clock=lambda: at)
        media = FakeMedia(inputs=["0"])
        return runner.run(media, CallContext("u", "+8613911112222", "hotline_12329")), media

    result, media = call(timezone.now())
    assert result.outcome == Hangup("harassment")
    assert media.hangup_cause == "CALL_REJECTED"
    result, _ = call(until + dt.timedelta(seconds=1))
    assert result.outcome != Hangup("harassment")
