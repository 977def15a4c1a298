"""Knowledge API: permissions per role, review actions, search, attachments, query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.knowledge import services
from crm.knowledge.choices import ArticleStatus

pytestmark = pytest.mark.django_db

URL = "/api/crm/knowledge/articles/"


def test_agents_read_published_only_and_cannot_write(client, publish, category, editor, agent):
    published = publish("住房公积金提取流程", "携带身份证。")
    draft = services.create_article(title="草稿", body="", category=category, by=editor)
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [published.pk]
    assert client.get(f"{URL}{draft.pk}/").status_code == 404
    response = client.post(URL, {"title": "x", "body": "y", "category": category.pk})
    assert response.status_code == 403
    assert client.post(f"{URL}{published.pk}/unpublish/").status_code == 403
    assert client.get(f"{URL}{published.pk}/versions/").status_code == 403


def test_anonymous_users_get_nothing(client, publish):
    publish("住房公积金提取流程")
    assert client.get(URL).status_code == 403


def test_backoffice_writes_and_submits_but_cannot_approve(client, category, editor):
    client.force_login(editor)
    response = client.post(
        URL,
        {"title": "公积金提取", "body": "第一版", "category": category.pk, "tags": ["提取"]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    article_id = response.json()["id"]
    assert response.json()["tag_names"] == ["提取"]
    response = client.patch(
        f"{URL}{article_id}/", {"body": "第二版"}, content_type="application/json"
    )
    assert response.json()["version"] == 2
    assert client.post(f"{URL}{article_id}/submit/").json()["status"] == ArticleStatus.IN_REVIEW
    response = client.post(f"{URL}{article_id}/approve/")
    assert response.status_code == 403
    response = client.patch(f"{URL}{article_id}/", {"body": "x"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_a_draft"


def test_supervisor_approves_and_rejects(client, category, editor, reviewer):
    first = services.create_article(title="一", body="…", category=category, by=editor)
    second = services.create_article(title="二", body="…", category=category, by=editor)
    for article in (first, second):
        services.submit_article_for_review(article, by=editor)
    client.force_login(reviewer)
    response = client.post(f"{URL}{first.pk}/approve/", {"comment": "好"})
    assert response.json()["status"] == ArticleStatus.PUBLISHED
    response = client.post(f"{URL}{second.pk}/reject/", {"comment": ""})
    assert response.status_code == 409
    assert response.json()["code"] == "comment_required"
    response = client.post(f"{URL}{second.pk}/reject/", {"comment": "补充材料清单"})
    assert response.json()["status"] == ArticleStatus.DRAFT
    response = client.post(f"{URL}{first.pk}/approve/")
    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"


def test_search_endpoint_ranks_chinese_results(client, publish, agent):
    body_only = publish("社保卡挂失", "挂失后如需提取公积金，请另行办理。")
    title = publish("住房公积金提取流程", "携带身份证到柜台办理。")
    publish("医保报销", "定点医院结算。")
    client.force_login(agent)
    response = client.get(f"{URL}search/", {"q": "公积金"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["id"] for row in results] == [title.pk, body_only.pk]
    assert results[0]["rank"] > results[1]["rank"]


def test_list_query_count_does_not_grow_with_articles(client, publish, agent):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(URL).status_code == 200
        return len(context.captured_queries)

    client.force_login(agent)
    publish("一", tags=("甲",))
    few = count_queries()
    for title in ("二", "三", "四", "五"):
        publish(title, tags=("乙", "丙"))
    assert count_queries() == few
    assert few <= 8


def test_attachment_upload_checks_type_and_size(client, publish, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CRM_ATTACHMENT_MAX_BYTES = 1024
    article = publish("住房公积金提取流程")
    client.force_login(editor)
    url = f"{URL}{article.pk}/attachments/"
    pdf = SimpleUploadedFile("表格.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(url, {"file": pdf})
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "application/pdf"
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00", content_type="application/pdf")
    response = client.post(url, {"file": fake})
    assert response.status_code == 400
    big = SimpleUploadedFile("big.txt", b"a" * 2048, content_type="text/plain")
    assert client.post(url, {"file": big}).status_code == 400
    assert [row["original_name"] for row in client.get(url).json()] == ["表格.pdf"]
    assert list(tmp_path.rglob("*.pdf"))
