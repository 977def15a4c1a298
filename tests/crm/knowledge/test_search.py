"""Chinese search on PostgreSQL: substring hits, ranking, typos, the trigram index."""

import pytest
from django.db import connection

from crm.knowledge.models import Article
from crm.knowledge.search import search_articles

pytestmark = pytest.mark.django_db


def test_chinese_query_finds_articles_without_word_boundaries(publish):
    wanted = publish("住房公积金提取流程", "携带身份证到柜台办理。")
    publish("医保报销流程", "先在定点医院结算。")
    found = list(search_articles("公积金"))
    assert found == [wanted]


def test_title_hits_rank_above_body_hits_and_closer_titles_first(publish):
    body_only = publish("社保卡挂失", "挂失后如需提取公积金，请另行办理。")
    long_title = publish("住房公积金提取流程", "携带身份证到柜台办理。")
    exact_title = publish("公积金", "公积金是单位和职工共同缴存的长期住房储金。")
    ranked = list(search_articles("公积金"))
    assert ranked == [exact_title, long_title, body_only]
    assert ranked[0].rank > ranked[1].rank > ranked[2].rank


def test_every_term_must_match(publish):
    both = publish("公积金异地转移", "异地转移需要开具联系函。")
    publish("公积金提取", "本地提取。")
    assert list(search_articles("公积金 异地")) == [both]


def test_title_with_a_typo_is_found_by_trigram_similarity(publish):
    wanted = publish("住房公积金提取流程", "携带身份证到柜台办理。")
    assert list(search_articles("住房公基金提取流程")) == [wanted]


def test_blank_query_finds_nothing(publish):
    publish("住房公积金提取流程")
    assert list(search_articles("   ")) == []


def test_search_is_limited_to_the_given_queryset(publish, category, editor):
    from crm.knowledge import services

    published = publish("住房公积金提取流程")
    services.create_article(title="公积金草稿", body="", category=category, by=editor)
    assert list(search_articles("公积金", Article.objects.published())) == [published]


def test_contains_search_can_use_the_trigram_index(publish):
    publish("住房公积金提取流程")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        query = search_articles("公积金").query
        sql, params = query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "knowledge_article_title_trgm" in plan
    assert "knowledge_article_body_trgm" in plan
