import pytest

from tests.cti.daemon.harness import Center
from tests.e2e.browser import BrowserThread, FactPersister, WebServer, ensure_vendor_bundle


def database_url() -> str:
    """The test database (test_<name>, as pytest-django set it up) for the subprocesses."""
    from django.db import connection

    database = connection.settings_dict
    return (
        f"postgres://{database.get('USER') or 'postgres'}@{database.get('HOST') or '127.0.0.1'}:"
        f"{database.get('PORT') or 5432}/{database['NAME']}"
    )


@pytest.fixture
def center(redis_client, settings, tmp_path):
    started = Center(settings.REDIS_URL, tmp_path)
    yield started
    started.stop()


@pytest.fixture
def web(settings, tmp_path, transactional_db):
    # The server checks passwords with the project's hashers, not the suite's fast MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    ensure_vendor_bundle()
    server = WebServer(database_url(), settings.REDIS_URL, tmp_path / "web.log")
    yield server
    server.stop()


@pytest.fixture
def persister(settings, tmp_path, transactional_db):
    process = FactPersister(database_url(), settings.REDIS_URL, tmp_path / "persister.log")
    yield process
    process.stop()


@pytest.fixture
def browser():
    thread = BrowserThread()
    yield thread
    thread.close()
