"""Service records: category levels, create, follow up, close, transitions, unfinished list."""

import pytest
from django.core.exceptions import ValidationError

from crm.customers.errors import BusinessRuleError
from crm.customers.services import create_customer
from crm.records.models import ServiceCategory, ServiceStatus
from crm.records.services import (
    add_follow_up,
    builtin_status,
    change_service_record_status,
    close_service_record,
    create_service_record,
    unfinished_service_records,
)
from telephony.models import Agent
from tests.crm.records.factories import category_leaf

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_user(make_user):
    user = make_user("ann", "agent")
    Agent.objects.create(employee_number="1001", extension="8001", name="安", user=user)
    return user


def test_builtin_statuses_are_seeded_idempotently():
    import importlib

    from django.apps import apps

    # Run the data migration's function itself: a transactional test elsewhere may have
    # flushed the rows it wrote when the test database was built.
    migration = importlib.import_module("crm.records.migrations.0002_builtin_statuses")
    migration.seed(apps, None)
    migration.seed(apps, None)
    assert list(ServiceStatus.objects.values_list("code", "kind", "builtin")) == [
        ("open", "open", True),
        ("pending", "pending", True),
        ("closed", "closed", True),
    ]


def test_category_tree_has_at_most_three_levels():
    leaf = category_leaf()
    assert (leaf.parent.parent.level, leaf.parent.level, leaf.level) == (1, 2, 3)
    assert leaf.path == "账户 / 咨询 / 密码重置"
    too_deep = ServiceCategory(name="第四级", parent=leaf)
    with pytest.raises(ValidationError):
        too_deep.full_clean()


def test_record_needs_a_leaf_category(agent_user):
    leaf = category_leaf()
    with pytest.raises(BusinessRuleError) as info:
        create_service_record(by_user=agent_user, category=leaf.parent, description="x")
    assert info.value.code == "category_not_leaf"


def test_create_follow_up_and_close(agent_user):
    customer = create_customer(name="张三", phones=["13800138000"])
    record = create_service_record(
        by_user=agent_user,
        category=category_leaf(),
        description="忘记密码",
        customer=customer,
        caller_number="13800138000",
        call_uuid="a1b2",
    )
    assert record.status.code == "open"
    assert record.agent == agent_user.agent
    assert list(unfinished_service_records(agent_user.agent)) == [record]
    pending = builtin_status("pending")
    add_follow_up(record, by_user=agent_user, note="已回电", status=pending)
    record.refresh_from_db()
    assert record.status == pending
    assert record.follow_ups.get().note == "已回电"
    close_service_record(record, by_user=agent_user, note="已解决")
    record.refresh_from_db()
    assert record.status.code == "closed" and record.closed_at is not None
    assert record.follow_ups.count() == 2
    assert list(unfinished_service_records(agent_user.agent)) == []
    with pytest.raises(BusinessRuleError) as info:
        add_follow_up(record, by_user=agent_user, note="再次")
    assert info.value.code == "record_closed"


def test_closed_record_only_reopens(agent_user):
    waiting = ServiceStatus.objects.create(code="waiting_parts", name="等配件", kind="pending")
    record = create_service_record(by_user=agent_user, category=category_leaf(), description="x")
    close_service_record(record, by_user=agent_user)
    with pytest.raises(BusinessRuleError) as info:
        change_service_record_status(record, waiting, by_user=agent_user)
    assert info.value.code == "invalid_transition"
    reopened = change_service_record_status(record, builtin_status("open"), by_user=agent_user)
    assert reopened.closed_at is None


def test_unknown_caller_keeps_the_number(agent_user):
    record = create_service_record(
        by_user=agent_user, category=category_leaf(), description="咨询", caller_number="95555"
    )
    assert record.customer is None and record.caller_number == "95555"


def test_agent_cannot_change_another_agents_record(agent_user, make_user):
    other = make_user("bob", "agent")
    record = create_service_record(by_user=agent_user, category=category_leaf(), description="x")
    with pytest.raises(BusinessRuleError) as info:
        add_follow_up(record, by_user=other, note="不是我的")
    assert info.value.code == "permission_denied"
    backoffice = make_user("carol", "backoffice")
    add_follow_up(record, by_user=backoffice, note="后台跟进")
