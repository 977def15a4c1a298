import pytest

from tests.cti.daemon.harness import Center


@pytest.fixture
def center(redis_client, settings, tmp_path):
    """A simulator and a daemon process; the configuration comes from the test's models."""
    started = Center(settings.REDIS_URL, tmp_path)
    yield started
    started.stop()
