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


def test_daemons_announce_themselves_and_a_stopping_one_sees_the_others(redis_client):
    now = 1_000.0
    leader = LeaderLease(redis_client, "cti-1", ttl_seconds=2)
    standby = LeaderLease(redis_client, "cti-2", ttl_seconds=2)
    leader.announce(now)
    assert leader.others_running(now) == []
    standby.announce(now)
    assert leader.others_running(now + 1) == ["cti-2"]
    # Not heard from for longer than the lease lasts: no longer counted.
    assert leader.others_running(now + 3) == []
    standby.withdraw()
    assert leader.others_running(now) == []


def test_with_redis_unreachable_no_other_daemon_is_counted():
    import redis

    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2, decode_responses=True)
    lease = LeaderLease(unreachable, "cti-1")
    lease.announce(1_000.0)
    assert lease.others_running(1_000.0) == []
