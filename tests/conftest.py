"""Fixtures shared by the whole suite: real Redis, users with roles."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def redis_client(settings):
    """A client on the test Redis database, emptied before and after the test."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped, the end of the sessions that
    threads left open on it (asgiref's executor thread of the websocket consumer tests keeps
    its connection), which would otherwise make the drop fail with "being accessed by other
    users"."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def make_user(db):
    """Create a user holding the given roles: make_user("ann", "agent", "supervisor")."""
    from accounts.services import create_user

    counter = iter(range(1, 10_000))

    def make(username: str | None = None, *roles: str, password: str = "pw-123456", **fields):
        name = username or f"user{next(counter)}"
        return create_user(name, password, list(roles), **fields)

    return make


def pytest_collection_modifyitems(config, items):
    """Skip tests marked freeswitch unless FREESWITCH_ESL_URL points at a real switch."""
    if os.environ.get("FREESWITCH_ESL_URL"):
        return
    skip = pytest.mark.skip(reason="FREESWITCH_ESL_URL is not set: no real FreeSWITCH to use")
    for item in items:
        if "freeswitch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language; a request to /en/ must not leak into the next."""
    from django.conf import settings

    if not settings.configured:  # a run with -p no:django: nothing to reset
        yield
        return
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


def pytest_configure(config):
    """Hash test users' passwords with MD5: the real hasher costs seconds per user."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
