"""Article search that works for Chinese: substring matches ranked by trigram similarity.

Chinese words are not separated by spaces, so there is nothing to stem or split: a query
matches an article whose title or body contains it. On PostgreSQL pg_trgm adds two things:
the GIN trigram indexes on UPPER(title)/UPPER(body) make those substring tests fast, and
trigram similarity both ranks the hits and finds titles with a typo (公基金 for 公积金).
SQLite, used for quick local runs, gets the substring match and a simple ranking.
"""

from __future__ import annotations

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Upper

from crm.knowledge.models import Article

# How much each kind of hit counts in the rank; a title that contains the query outranks a
# body that does, and similarity breaks ties between hits of the same kind.
TITLE_HIT_WEIGHT = 2.0
BODY_HIT_WEIGHT = 1.0
BODY_SIMILARITY_WEIGHT = 0.5
MAX_QUERY_LENGTH = 100


class _TrigramSimilar(Func):
    """`a % b`: pg_trgm's similarity operator, which the GIN trigram index can serve."""

    arg_joiner = " %% "
    template = "%(expressions)s"
    output_field = BooleanField()


def _terms(query: str) -> list[str]:
    return query[:MAX_QUERY_LENGTH].split()


def search_articles(query: str, queryset: QuerySet[Article] | None = None) -> QuerySet[Article]:
    """Articles of `queryset` (all by default) matching `query`, best first, with a `rank`.

    Every whitespace-separated term must occur in the title or the body. On PostgreSQL a
    one-term query also matches titles similar to it (pg_trgm's similarity threshold), which
    forgives a wrong character; with several terms the caller asked for all of them.
    """
    articles = Article.objects.all() if queryset is None else queryset
    terms = _terms(query)
    if not terms:
        return articles.none()
    phrase = " ".join(terms)
    contains = Q()
    for term in terms:
        contains &= Q(title__icontains=term) | Q(body__icontains=term)
    hit_rank = Case(
        When(title__icontains=phrase, then=Value(TITLE_HIT_WEIGHT)),
        default=Value(0.0),
        output_field=FloatField(),
    ) + Case(
        When(body__icontains=phrase, then=Value(BODY_HIT_WEIGHT)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    if connection.vendor != "postgresql":
        return (
            articles.filter(contains)
            .annotate(rank=hit_rank)
            .order_by("-rank", F("published_at").desc(nulls_last=True), "-id")
        )
    matches = contains
    if len(terms) == 1:
        matches |= Q(_TrigramSimilar(Upper("title"), Upper(Value(phrase))))
    return (
        articles.filter(matches)
        .annotate(
            rank=hit_rank
            + TrigramSimilarity("title", Value(phrase))
            + BODY_SIMILARITY_WEIGHT * TrigramWordSimilarity(Value(phrase), "body")
        )
        .order_by("-rank", F("published_at").desc(nulls_last=True), "-id")
    )
