import pytest
from django.db import transaction

from crm.records.models import ServiceCategory
from telephony import models as m
from tests.telephony.factories import AgentFactory, AgentGroupFactory, QueueFactory


@pytest.fixture
def seat(make_user):
    """An agent user with a seat in a group serving one queue."""
    with transaction.atomic():
        user = make_user("ann", "agent")
        group = AgentGroupFactory(name="热线组")
        agent = AgentFactory(user=user, name="安娜", employee_number="1001", extension="1001")
        m.GroupMembership.objects.create(agent=agent, group=group, position=1)
        queue = QueueFactory(code="hotline", name="热线", group=group)
    return {"user": user, "agent": agent, "group": group, "queue": queue}


@pytest.fixture
def category_leaf(db):
    directory = ServiceCategory.objects.create(name="账户")
    kind = ServiceCategory.objects.create(name="咨询", name_en="Question", parent=directory)
    return ServiceCategory.objects.create(name="密码重置", name_en="Password reset", parent=kind)
