import pytest

from tests.cti.daemon.harness import Center
from tests.e2e.browser import BrowserThread, WebServer, ensure_vendor_bundle


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
    from django.db import connection

    # The test database (test_<name>), as pytest-django set it up.
    database = connection.settings_dict
    url = (
        f"postgres://{database.get('USER') or 'postgres'}@{database.get('HOST') or '127.0.0.1'}:"
        f"{database.get('PORT') or 5432}/{database['NAME']}"
    )
    server = WebServer(url, settings.REDIS_URL, tmp_path / "web.log")
    yield server
    server.stop()


@pytest.fixture
def browser():
    thread = BrowserThread()
    yield thread
    thread.close()
