"""Fixtures of these tests."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """make_user hashes a password per user; the default hasher costs ~0.5 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
