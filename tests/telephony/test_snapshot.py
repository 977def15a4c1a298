"""A change made through Django reaches the daemon's reader with a higher version."""

import json

import pytest
from django.db import transaction

from cti.config import SNAPSHOT_KEY, VERSION_KEY, ConfigSnapshotReader
from telephony import models as m
from tests.telephony.factories import AgentFactory, AgentGroupFactory, QueueFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_committed_change_is_seen_by_daemon_reader_with_higher_version(redis_client):
    reader = ConfigSnapshotReader(redis_client)
    group = AgentGroupFactory()
    reader.refresh()
    before = reader.version
    assert before >= 1

    agent = AgentFactory(name="李雷")
    m.GroupMembership.objects.create(agent=agent, group=group, level=2, position=7)

    assert reader.refresh() is True
    assert reader.version > before
    seen = reader.current.agents_by_extension[agent.extension]
    assert seen["name"] == "李雷"
    assert seen["groups"] == [{"group": group.id, "level": 2, "position": 7}]


def test_one_transaction_publishes_one_version(redis_client):
    with transaction.atomic():
        group = AgentGroupFactory()
        for _ in range(5):
            AgentFactory()
        QueueFactory(group=group)
    assert int(redis_client.get(VERSION_KEY)) == 1
    data = json.loads(redis_client.get(SNAPSHOT_KEY))
    assert len(data["agents"]) == 5 and len(data["queues"]) == 1


def test_rolled_back_change_publishes_nothing(redis_client):
    with pytest.raises(RuntimeError), transaction.atomic():
        AgentGroupFactory()
        raise RuntimeError("abort")
    assert redis_client.get(VERSION_KEY) is None
    AgentGroupFactory()  # a later commit still publishes
    assert int(redis_client.get(VERSION_KEY)) == 1


def test_deleting_publishes_and_reader_ignores_older_versions(redis_client):
    reader = ConfigSnapshotReader(redis_client)
    agent = AgentFactory()
    reader.refresh()
    agent.delete()
    assert reader.refresh()
    assert agent.extension not in reader.current.agents_by_extension
    assert reader.refresh() is False  # nothing newer


def test_queue_snapshot_carries_skills_and_overflow(redis_client):
    skill = m.Skill.objects.create(code="english", name="英语")
    first = QueueFactory(code="general")
    second = QueueFactory(code="english", overflow_kind="queue", overflow_queue=first)
    m.QueueSkill.objects.create(queue=second, skill=skill, min_level=6)
    reader = ConfigSnapshotReader(redis_client)
    reader.refresh()
    queue = reader.current.queues_by_code["english"]
    assert queue["required_skills"] == {"english": 6}
    assert queue["overflow_queue"] == "general"


class CountingGets:
    """A Redis client that counts the GETs of each key."""

    def __init__(self, client):
        self.client = client
        self.gets: dict[str, int] = {}

    def get(self, key):
        self.gets[key] = self.gets.get(key, 0) + 1
        return self.client.get(key)


def test_an_unchanged_version_is_not_fetched_again(redis_client):
    AgentGroupFactory()
    spy = CountingGets(redis_client)
    reader = ConfigSnapshotReader(spy)
    assert reader.refresh() is True
    for _ in range(5):  # the daemon polls every second
        assert reader.refresh() is False
    assert spy.gets[SNAPSHOT_KEY] == 1 and spy.gets[VERSION_KEY] == 6
    AgentGroupFactory()  # a new version is published
    assert reader.refresh() is True and spy.gets[SNAPSHOT_KEY] == 2
