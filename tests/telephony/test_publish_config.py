"""After Redis loses its data, one command republishes what the daemon reads."""

import pytest
from django.core.management import call_command

from cti.config import ConfigSnapshotReader
from tests.telephony.factories import AgentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_publish_config_restores_the_daemons_view_after_a_flush(redis_client):
    from crm.customers.services import create_customer

    agent = AgentFactory()
    create_customer(name="赵六", phones=["13300133000"], owner=agent)
    redis_client.flushdb()
    call_command("publish_config")
    reader = ConfigSnapshotReader(redis_client)
    assert reader.refresh() and agent.extension in reader.current.agents_by_extension
    assert redis_client.get("cc:ivr:flows") is not None
    assert redis_client.hget("cc:customer:phone:13300133000", "owner_agent_id") == str(agent.id)
