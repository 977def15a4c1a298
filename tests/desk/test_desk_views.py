"""The desk's pages and partials, and call control through the command stream."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.customers.models import CustomFieldDefinition
from crm.customers.services import create_customer
from crm.records.models import ServiceRecord
from crm.records.services import create_service_record
from cti.control.protocol import Reason, Reply
from cti.models import CallRecord, QueueEntry, QueueOutcome
from desk.models import ReturnedCall
from ivr.models import VoicemailMessage, VoicemailNotification
from tests.desk.daemon_double import ReplyingDaemon

pytestmark = pytest.mark.django_db


def test_desk_page_in_chinese_by_default_and_in_english(client, seat):
    client.force_login(seat["user"])
    page = client.get(reverse("desk:index")).content.decode()
    assert "登录话机" in page and "示闲" in page and "安娜" in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("desk:index")).content.decode()
    assert "Log in to phone" in page and "Blind transfer" in page
    config = json.loads(page.split('id="desk-config" type="application/json">')[1].split("<")[0])
    assert config["agentId"] == seat["agent"].pk
    assert config["text"]["states"]["ready"] == "Ready"
    assert {"value": "hotline", "label": "热线"} in config["targets"]["queue"]


def test_the_desk_names_the_reasons_the_system_sets_but_does_not_offer_them(client, seat):
    """An agent on a call they dialled is busy with the system reason "outbound": the desk
    shows its name, while the reasons to choose from are the agents' own."""
    client.force_login(seat["user"])
    page = client.get(reverse("desk:index")).content.decode()
    config = json.loads(page.split('id="desk-config" type="application/json">')[1].split("<")[0])
    assert config["text"]["busyReasons"]["outbound"] == "外呼"
    assert config["text"]["busyReasons"]["no_answer"] == "未接来电"
    assert config["text"]["busyReasons"]["rest"] == "小休"
    offered = {reason["code"] for reason in config["busyReasons"]}
    assert "rest" in offered and not offered & {"outbound", "no_answer", "forced", "consult"}


def test_reasons_the_daemon_sets_keep_their_names_without_their_rows():
    """A system reason's row deleted or disabled (or a database emptied between tests): the
    desk and the wallboard still name it, in the user's language; a renamed row wins."""
    from django.utils import translation

    from desk.services import busy_reason_names
    from telephony.models import BusyReason

    BusyReason.objects.filter(code="outbound").delete()
    BusyReason.objects.filter(code="consult").update(enabled=False)
    BusyReason.objects.filter(code="no_answer").update(name="漏接")
    names = busy_reason_names()
    assert (names["outbound"], names["consult"], names["no_answer"]) == ("外呼", "咨询", "漏接")
    with translation.override("en"):
        assert busy_reason_names()["outbound"] == "Outbound call"


def test_user_without_a_seat_is_told_so(client, make_user):
    client.force_login(make_user("bob", "agent"))
    response = client.get(reverse("desk:index"))
    assert response.status_code == 403
    assert "没有关联坐席" in response.content.decode()


def test_command_goes_to_the_daemon_and_its_reply_is_shown(client, seat, redis_client, settings):
    def decide(command):
        if command.action == "consult":
            return Reply.rejected(Reason.UNKNOWN_ACTION, "no handler for consult")
        return Reply.ok(extension=command.args.get("extension"))

    client.force_login(seat["user"])
    with ReplyingDaemon(settings.REDIS_URL, decide) as daemon:
        url = reverse("desk:command", args=["login"])
        reply = client.post(
            url, json.dumps({"extension": "1001", "ready": True}), content_type="application/json"
        ).json()
        assert reply["accepted"] and reply["data"] == {"extension": "1001"}
        rejected = client.post(
            reverse("desk:command", args=["consult"]),
            json.dumps({"kind": "agent", "target": "7"}),
            content_type="application/json",
        ).json()
    assert rejected == {
        "accepted": False,
        "code": "unknown_action",
        "message": "呼叫控制服务暂不支持此操作。",
        "detail": "no handler for consult",
        "data": {},
    }
    login = daemon.received[0]
    assert (login.action, login.user_id, login.roles) == ("login", seat["user"].pk, ("agent",))
    assert login.args == {"extension": "1001", "ready": True}


def test_silent_daemon_gives_a_timeout_reply(client, seat, redis_client, monkeypatch):
    monkeypatch.setattr("desk.views.COMMAND_TIMEOUT_SECONDS", 0.3)
    client.force_login(seat["user"])
    reply = client.post(reverse("desk:command", args=["ready"]), "{}", "application/json").json()
    assert reply["accepted"] is False and reply["code"] == "timeout"
    assert reply["message"]


def test_supervisor_actions_are_not_desk_commands(client, seat, redis_client):
    client.force_login(seat["user"])
    url = reverse("desk:command", args=["barge"])
    assert client.post(url, "{}", "application/json").status_code == 404
    assert redis_client.xlen("cc:commands") == 0


def test_screen_pop_card_of_a_known_caller(client, seat, category_leaf):
    CustomFieldDefinition.objects.create(
        key="member_no", label="会员号", field_type="text", show_in_screen_pop=True
    )
    CustomFieldDefinition.objects.create(key="hobby", label="爱好", field_type="text")
    customer = create_customer(
        name="王小明",
        phones=["13800138000"],
        vip_level="gold",
        owner=seat["agent"],
        custom_fields={"member_no": "M-778", "hobby": "chess"},
    )
    for index in range(12):
        create_service_record(
            by_user=seat["user"],
            category=category_leaf,
            description=f"问题 {index}",
            customer=customer,
        )
    CallRecord.objects.create(
        call_uuid="c-1",
        caller="13800138000",
        started_at=timezone.now(),
        queue="hotline",
        agent_id=seat["agent"].pk,
        talk_seconds=65,
    )
    client.force_login(seat["user"])
    page = client.get(reverse("desk:card"), {"number": "+86 138 0013 8000"}).content.decode()
    assert "王小明" in page and 'class="vip vip-gold"' in page
    assert "安娜 (1001)" in page  # owner agent
    assert "M-778" in page and "chess" not in page  # only the fields marked for the pop
    # Two header rows, the 10 latest records, the one call.
    assert page.count("<tr>") == 2 + 10 + 1
    assert "问题 11" in page and "问题 1<" not in page
    assert 'data-dial="+8613800138000"' in page


def test_unknown_caller_gets_the_new_customer_form_and_can_be_created(client, seat):
    client.force_login(seat["user"])
    page = client.get(reverse("desk:card"), {"number": "13900139000"}).content.decode()
    assert "新客户" in page and "+8613900139000" in page
    page = client.post(
        reverse("desk:new_customer"),
        {"name": "李雷", "phone": "13900139000", "vip_level": "regular", "region": "北京"},
    ).content.decode()
    assert "李雷" in page and "新客户已保存" in page
    bad = client.post(
        reverse("desk:new_customer"), {"name": "X", "phone": "12", "vip_level": "regular"}
    ).content.decode()
    assert 'class="error"' in bad


def test_service_record_with_the_category_tree(client, seat, category_leaf):
    client.force_login(seat["user"])
    kind = category_leaf.parent
    options = client.get(reverse("desk:categories"), {"directory": kind.parent_id}).content
    assert f'value="{kind.pk}"'.encode() in options
    options = client.get(reverse("desk:categories"), {"kind": kind.pk}).content
    assert f'value="{category_leaf.pk}"'.encode() in options
    page = client.post(
        reverse("desk:create_record"),
        {
            "call_uuid": "call-9",
            "caller_number": "13800138000",
            "category": category_leaf.pk,
            "description": "忘记密码",
            "follow_up_date": "2030-01-02",
        },
    ).content.decode()
    record = ServiceRecord.objects.get()
    assert f"服务记录 {record.pk} 号已保存" in page
    assert (record.call_uuid, record.agent, record.follow_up_date) == (
        "call-9",
        seat["agent"],
        dt.date(2030, 1, 2),
    )
    # A level-2 category is refused with the reason shown.
    page = client.post(
        reverse("desk:create_record"), {"category": kind.pk, "description": "x"}
    ).content.decode()
    assert 'class="error"' in page and ServiceRecord.objects.count() == 1
    unfinished = client.get(reverse("desk:unfinished")).content.decode()
    assert "忘记密码" in unfinished


def test_voicemail_list_playback_and_status(client, seat, tmp_path):
    wav = tmp_path / "vm.wav"
    wav.write_bytes(b"RIFF0000WAVEfmt ")
    message = VoicemailMessage.objects.create(
        call_uuid="vm-1",
        caller="13700137000",
        group=seat["group"],
        recording_path=str(wav),
        duration_seconds=4,
        left_at=timezone.now(),
    )
    VoicemailNotification.objects.create(message=message, user=seat["user"])
    client.force_login(seat["user"])
    page = client.get(reverse("desk:voicemail")).content.decode()
    assert "13700137000" in page and reverse("desk:voicemail_audio", args=[message.pk]) in page
    audio = client.get(reverse("desk:voicemail_audio", args=[message.pk]))
    assert b"".join(audio.streaming_content).startswith(b"RIFF")
    page = client.post(
        reverse("desk:voicemail_status", args=[message.pk]), {"status": "handled"}
    ).content.decode()
    assert "13700137000" not in page
    message.refresh_from_db()
    assert message.status == "handled" and message.handled_by == seat["user"]


def test_abandoned_calls_and_callback_requests_to_return(client, seat, make_user):
    now = timezone.now()
    for uuid, outcome, caller in (
        ("a-1", QueueOutcome.ABANDONED, "13500135000"),
        ("a-2", QueueOutcome.CALLBACK, "13600136000"),
        ("a-3", QueueOutcome.ANSWERED, "13300133000"),
    ):
        QueueEntry.objects.create(
            call_uuid=uuid, queue="hotline", entered_at=now, outcome=outcome, wait_seconds=30
        )
        CallRecord.objects.create(call_uuid=uuid, caller=caller, started_at=now)
    QueueEntry.objects.create(
        call_uuid="other", queue="sales", entered_at=now, outcome=QueueOutcome.ABANDONED
    )
    client.force_login(seat["user"])
    page = client.get(reverse("desk:returns")).content.decode()
    assert "13500135000" in page and "13600136000" in page
    assert "13300133000" not in page and "other" not in page
    page = client.post(reverse("desk:return_done", args=["a-1"])).content.decode()
    assert "13500135000" not in page and "13600136000" in page
    assert ReturnedCall.objects.get().returned_by == seat["user"]
    assert client.post(reverse("desk:return_done", args=["other"])).status_code == 404
