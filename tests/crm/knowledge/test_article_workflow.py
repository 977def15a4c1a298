"""Article review cycle: versions, allowed and refused transitions, who may do what."""

import json

import pytest
from django.core.exceptions import PermissionDenied

from crm.knowledge import services
from crm.knowledge.choices import ARTICLE_TRANSITIONS, ArticleStatus
from crm.knowledge.models import Article

pytestmark = pytest.mark.django_db


def test_every_status_has_its_transitions_written_down():
    assert set(ARTICLE_TRANSITIONS) == set(ArticleStatus.values)


def test_each_edit_of_the_text_saves_a_version(category, editor):
    article = services.create_article(
        title="公积金提取", body="第一版", category=category, by=editor, tags=["提取", " 提取 "]
    )
    services.edit_article(article, by=editor, body="第二版")
    services.edit_article(article, by=editor, tags=["异地"])  # no text change: no new version
    article.refresh_from_db()
    assert article.version == 2
    assert [(v.number, v.body) for v in article.versions.all()] == [(2, "第二版"), (1, "第一版")]
    assert [tag.name for tag in article.tags.all()] == ["异地"]


def test_full_cycle_draft_review_publish_unpublish_draft(category, editor, reviewer):
    article = services.create_article(title="公积金", body="…", category=category, by=editor)
    services.submit_article_for_review(article, by=editor)
    assert article.status == ArticleStatus.IN_REVIEW
    services.reject_article(article, by=reviewer, comment="缺少办理地点")
    article.refresh_from_db()
    assert (article.status, article.review_comment) == (ArticleStatus.DRAFT, "缺少办理地点")
    services.edit_article(article, by=editor, body="到市民中心办理")
    services.submit_article_for_review(article, by=editor)
    services.approve_article(article, by=reviewer)
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    assert article.reviewer == reviewer and article.published_at is not None
    services.unpublish_article(article, by=reviewer, comment="政策调整")
    services.return_article_to_draft(article, by=editor)
    article.refresh_from_db()
    assert article.status == ArticleStatus.DRAFT and article.published_at is None


def test_refused_transitions_raise_with_a_code(category, editor, reviewer):
    article = services.create_article(title="公积金", body="…", category=category, by=editor)
    with pytest.raises(services.KnowledgeError) as error:
        services.approve_article(article, by=reviewer)  # not submitted yet
    assert error.value.code == "transition_not_allowed"
    services.submit_article_for_review(article, by=editor)
    with pytest.raises(services.KnowledgeError) as error:
        services.edit_article(article, by=editor, body="偷偷修改")
    assert error.value.code == "not_a_draft"
    with pytest.raises(services.KnowledgeError) as error:
        services.reject_article(article, by=reviewer, comment="  ")
    assert error.value.code == "comment_required"
    assert Article.objects.get(pk=article.pk).status == ArticleStatus.IN_REVIEW


def test_only_supervisors_and_admins_approve(category, editor, make_user):
    article = services.create_article(title="公积金", body="…", category=category, by=editor)
    services.submit_article_for_review(article, by=editor)
    with pytest.raises(PermissionDenied):
        services.approve_article(article, by=editor)
    services.approve_article(article, by=make_user("root", "admin"))
    assert article.status == ArticleStatus.PUBLISHED


def test_agents_cannot_write(category, agent):
    with pytest.raises(PermissionDenied):
        services.create_article(title="x", body="y", category=category, by=agent)


def test_agents_see_only_published_articles(publish, category, editor, agent):
    published = publish("住房公积金提取流程")
    services.create_article(title="草稿", body="", category=category, by=editor)
    assert list(Article.objects.visible_to(agent)) == [published]
    assert Article.objects.visible_to(editor).count() == 2


def test_publishing_is_announced_on_redis_after_commit(
    category, editor, reviewer, redis_client, django_capture_on_commit_callbacks
):
    pubsub = redis_client.pubsub()
    pubsub.subscribe(services.EVENTS_CHANNEL)
    pubsub.get_message(timeout=1)  # the subscription confirmation
    article = services.create_article(title="公积金", body="…", category=category, by=editor)
    services.submit_article_for_review(article, by=editor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.approve_article(article, by=reviewer)
    assert pubsub.get_message(timeout=0.2) is None  # nothing before the commit
    for callback in callbacks:
        callback()
    message = pubsub.get_message(timeout=1)
    event = json.loads(message["data"])
    assert event == {
        "type": "article_published",
        "article": article.pk,
        "title": "公积金",
        "status": "published",
    }
    pubsub.close()
