"""Knowledge pages: search from the desk, reading, writing and reviewing."""

import pytest
from django.urls import reverse

from crm.knowledge.choices import ArticleStatus
from crm.knowledge.models import Article

pytestmark = pytest.mark.django_db


def test_search_page_finds_published_articles(client, publish, agent):
    publish("住房公积金提取流程", "携带身份证。")
    publish("医保报销", "定点医院结算。")
    client.force_login(agent)
    response = client.get(reverse("knowledge:search"), {"q": "公积金"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "住房公积金提取流程" in content and "医保报销" not in content


def test_search_page_requires_sign_in(client):
    response = client.get(reverse("knowledge:search"))
    assert response.status_code == 302


def test_write_submit_and_approve_through_pages(client, category, editor, reviewer):
    client.force_login(editor)
    response = client.post(
        reverse("knowledge:article_create"),
        {"title": "异地转移", "body": "开具联系函", "category": category.pk, "tags": "转移，异地"},
    )
    article = Article.objects.get(title="异地转移")
    assert response.url == reverse("knowledge:article", args=[article.pk])
    assert sorted(tag.name for tag in article.tags.all()) == ["异地", "转移"]
    client.post(reverse("knowledge:article_action", args=[article.pk, "submit"]))
    client.force_login(reviewer)
    page = client.get(reverse("knowledge:article", args=[article.pk])).content.decode()
    assert reverse("knowledge:article_action", args=[article.pk, "approve"]) in page
    client.post(reverse("knowledge:article_action", args=[article.pk, "approve"]))
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED


def test_agent_cannot_open_the_editor(client, publish, agent):
    article = publish("住房公积金提取流程")
    client.force_login(agent)
    assert client.get(reverse("knowledge:article_create")).status_code == 403
    assert client.get(reverse("knowledge:article_edit", args=[article.pk])).status_code == 403
    response = client.get(reverse("knowledge:article", args=[article.pk]))
    assert response.status_code == 200
