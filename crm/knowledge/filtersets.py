"""Filters for article lists (API and pages)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from crm.knowledge.choices import ArticleStatus
from crm.knowledge.models import Article, Category


class ArticleFilterSet(django_filters.FilterSet):
    """Filter articles by status, category (with its sub-categories), tag and author."""

    status = django_filters.MultipleChoiceFilter(choices=ArticleStatus.choices, label=_("status"))
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), method="filter_category", label=_("category")
    )
    tag = django_filters.CharFilter(field_name="tags__name", label=_("tag"), distinct=True)

    class Meta:
        model = Article
        fields = ("status", "category", "tag", "author", "reviewer")

    def filter_category(self, queryset, name, value: Category):
        # Path prefixes select a node and all its descendants in one indexed condition.
        return queryset.filter(category__path__startswith=value.path)
