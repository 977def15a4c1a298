import pytest
from django.db import transaction

from telephony import models as m
from tests.telephony.factories import AgentFactory, AgentGroupFactory, QueueFactory


@pytest.fixture
def floor(make_user):
    """Two groups; the supervisor watches only the first."""
    with transaction.atomic():
        boss = make_user("sue", "supervisor")
        mine, other = AgentGroupFactory(name="热线组"), AgentGroupFactory(name="销售组")
        mine.supervisors.add(boss)
        agents = {}
        for name, group, number in (("安娜", mine, "1001"), ("鲍勃", other, "1002")):
            user = make_user(f"agent{number}", "agent")
            agent = AgentFactory(user=user, name=name, employee_number=number, extension=number)
            m.GroupMembership.objects.create(agent=agent, group=group, position=1)
            agents[name] = agent
        hotline = QueueFactory(code="hotline", name="热线", group=mine, service_level_seconds=20)
        sales = QueueFactory(code="sales", name="销售", group=other)
    return {
        "boss": boss,
        "mine": mine,
        "other": other,
        "agents": agents,
        "queues": (hotline, sales),
    }
