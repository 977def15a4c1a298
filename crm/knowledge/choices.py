"""Choices of the knowledge base, and the one place where article transitions are written."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleStatus(models.TextChoices):
    """Where an article stands in its review cycle; agents only ever see PUBLISHED."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    UNPUBLISHED = "unpublished", _("Unpublished")


# status -> statuses it may move to. Edits are only made to drafts, so a published text is
# always one a reviewer approved.
ARTICLE_TRANSITIONS: dict[str, frozenset[str]] = {
    ArticleStatus.DRAFT: frozenset({ArticleStatus.IN_REVIEW}),
    ArticleStatus.IN_REVIEW: frozenset({ArticleStatus.PUBLISHED, ArticleStatus.DRAFT}),
    ArticleStatus.PUBLISHED: frozenset({ArticleStatus.UNPUBLISHED}),
    ArticleStatus.UNPUBLISHED: frozenset({ArticleStatus.DRAFT}),
}


def article_transition_allowed(current: str, target: str) -> bool:
    """True when an article in `current` may move to `target`."""
    return target in ARTICLE_TRANSITIONS.get(current, frozenset())
