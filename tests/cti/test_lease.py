"""Leader lease for hot standby."""

import time

from cti.lease import LeaderLease


def test_only_one_daemon_leads(redis_client):
    first = LeaderLease(redis_client, "a", ttl_seconds=1)
    second = LeaderLease(redis_client, "b", ttl_seconds=1)
    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.try_acquire()  # renewal
    assert first.holder() == "a"


def test_standby_takes_over_after_the_lease_lapses(redis_client):
    first = LeaderLease(redis_client, "a", ttl_seconds=0.3)
    second = LeaderLease(redis_client, "b", ttl_seconds=0.3)
    assert first.try_acquire()
    time.sleep(0.4)  # the leader died without renewing
    assert second.try_acquire()
    # The old leader wakes up: it must not renew or release the new leader's lease.
    assert not first.try_acquire()
    first.is_leader = True
    first.release()
    assert second.holder() == "b"


def test_release_lets_the_standby_lead_at_once(redis_client):
    first = LeaderLease(redis_client, "a", ttl_seconds=10)
    second = LeaderLease(redis_client, "b", ttl_seconds=10)
    first.try_acquire()
    first.release()
    assert second.try_acquire()
