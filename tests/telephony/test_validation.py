"""Bad configuration input gets clear field-level errors."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from telephony import models as m
from tests.telephony.factories import AgentFactory, CalendarFactory, QueueFactory

pytestmark = pytest.mark.django_db


def field_errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        instance.full_clean()
    return info.value.message_dict


def test_duplicate_employee_number_is_a_field_error():
    AgentFactory(employee_number="1001", extension="1001")
    errors = field_errors(m.Agent(employee_number="1001", name="x", extension="1002"))
    assert errors["employee_number"] == ["已存在使用此工号的坐席。"]


@pytest.mark.parametrize("number", ["12a45", "", "12", "+", "1" * 25, "010 1234"])
def test_malformed_did_number_is_rejected(number):
    errors = field_errors(m.DID(number=number, flow="hotline"))
    assert "number" in errors


@pytest.mark.parametrize(
    ("pattern", "match", "ok"),
    [
        ("13800138000", "exact", True),
        ("+8613800138000", "exact", True),
        ("400", "prefix", True),
        ("1", "prefix", True),
        ("1", "exact", False),
        ("138-0013", "exact", False),
        ("13*", "prefix", False),
        ("", "prefix", False),
    ],
)
def test_blacklist_pattern_validation(pattern, match, ok):
    entry = m.BlacklistEntry(pattern=pattern, match=match, reason="spam")
    if ok:
        entry.full_clean()
    else:
        assert "pattern" in field_errors(entry)


def test_holiday_that_ends_before_it_starts_is_rejected():
    holiday = m.Holiday(
        calendar=CalendarFactory(),
        name="国庆",
        start_date=dt.date(2026, 10, 7),
        end_date=dt.date(2026, 10, 1),
    )
    assert field_errors(holiday)["end_date"] == ["节假日的结束日期不能早于开始日期。"]


def test_queue_cannot_overflow_to_itself():
    queue = QueueFactory()
    queue.overflow_kind = "queue"
    queue.overflow_queue = queue
    assert field_errors(queue)["overflow_queue"] == ["队列不能溢出到自身。"]


def test_queue_overflow_to_number_must_be_a_number():
    queue = QueueFactory.build(
        group=QueueFactory().group, overflow_kind="number", overflow_target="abc"
    )
    assert "overflow_target" in field_errors(queue)


def test_business_hours_end_after_start():
    hours = m.BusinessHours(
        calendar=CalendarFactory(), weekday=0, start_time=dt.time(17), end_time=dt.time(9)
    )
    assert "end_time" in field_errors(hours)


def test_admin_form_shows_duplicate_employee_number_in_chinese(client, make_user):
    admin = make_user("boss", "admin")
    client.force_login(admin)
    AgentFactory(employee_number="1001", extension="1001")
    response = client.post(
        reverse("admin:telephony_agent_add"),
        {
            "employee_number": "1001",
            "name": "重复",
            "extension": "1009",
            "sip_password": "x",
            "enabled": "on",
            "max_no_answer": 3,
            "wrap_up_seconds": 10,
            "reject_delay_seconds": 10,
            "busy_delay_seconds": 30,
            "agentskill_set-TOTAL_FORMS": 0,
            "agentskill_set-INITIAL_FORMS": 0,
            "groupmembership_set-TOTAL_FORMS": 0,
            "groupmembership_set-INITIAL_FORMS": 0,
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert "已存在使用此工号的坐席" in response.content.decode()


def test_api_reports_self_overflow_with_code_and_field(client, make_user):
    client.force_login(make_user("boss", "admin"))
    queue = QueueFactory()
    response = client.patch(
        f"/api/telephony/queues/{queue.pk}/",
        {"overflow_kind": "queue", "overflow_queue": queue.pk},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["overflow_queue"] == ["A queue cannot overflow to itself."]


def test_music_on_hold_must_be_a_stream_or_an_absolute_path():
    """FreeSWITCH reads a relative name as a tone script, which fails (the agents' phones
    are cancelled as they ring): found on a real switch with the old default moh/default."""
    for good in (
        m.DEFAULT_MUSIC_ON_HOLD,
        "/usr/share/sounds/moh.wav",
        "tone_stream://%(400,200,400)",
    ):
        m.validate_sound_source(good)
    with pytest.raises(ValidationError):
        m.validate_sound_source("moh/default")
