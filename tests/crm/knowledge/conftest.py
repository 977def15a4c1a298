"""Fixtures for the knowledge base tests: a category tree and users in every role."""

from __future__ import annotations

import pytest


@pytest.fixture
def category(db):
    from crm.knowledge.models import Category

    root = Category.objects.add_root({"name": "社保"})
    return Category.objects.add_child(root, {"name": "公积金"})


@pytest.fixture
def editor(make_user):
    return make_user("bo", "backoffice")


@pytest.fixture
def reviewer(make_user):
    return make_user("sup", "supervisor")


@pytest.fixture
def agent(make_user):
    return make_user("ann", "agent")


@pytest.fixture
def publish(category, editor, reviewer):
    """Write, submit and approve an article: publish("title", "body")."""
    from crm.knowledge import services

    def make(title: str, body: str = "", tags: tuple[str, ...] = ()):
        article = services.create_article(
            title=title, body=body, category=category, by=editor, tags=tags
        )
        services.submit_article_for_review(article, by=editor)
        return services.approve_article(article, by=reviewer)

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are created in almost every test; real key stretching would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
