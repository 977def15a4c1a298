"""Fixtures of the customers tests: uploaded files under a temporary MEDIA_ROOT, eager Celery."""

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager_celery(settings):
    """Celery tasks run in-process; the job rows and their progress stay real.

    The Celery app read Django's settings when it was configured, so its own conf is set too.
    """
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield app
    app.conf.update(task_always_eager=False, task_eager_propagates=False)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """make_user hashes a password per user; the default hasher costs ~0.5 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
