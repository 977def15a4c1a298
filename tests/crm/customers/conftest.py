"""Fixtures of the customers tests: uploaded files under a temporary MEDIA_ROOT, eager Celery."""

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager_celery(settings, monkeypatch):
    """Celery tasks run in-process; the job rows and their progress stay real."""
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)
    return app
