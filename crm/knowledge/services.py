"""State changes of the knowledge base: check, do in a transaction, notify on commit.

Every function takes the acting user as `by` and checks their permission itself, so views,
the API and the admin cannot skip a rule. Refusals raise PermissionDenied (not allowed) or
KnowledgeError (not possible in the article's current state).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.redis import get_redis
from crm.knowledge.choices import ArticleStatus, article_transition_allowed
from crm.knowledge.models import Article, ArticleAttachment, ArticleVersion, Category, Tag
from crm.knowledge.validators import AttachmentValidator, detect_content_type

# Redis pub/sub channel on which the desk and other listeners hear about published articles.
EVENTS_CHANNEL = "crm:knowledge"


class KnowledgeError(Exception):
    """A request the article's state does not allow; `code` is stable for API clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _publish_event(event: dict[str, Any]) -> None:
    get_redis().publish(EVENTS_CHANNEL, json.dumps(event, ensure_ascii=False))


def _notify_on_commit(event_type: str, article: Article) -> None:
    event = {
        "type": event_type,
        "article": article.pk,
        "title": article.title,
        "status": article.status,
    }
    transaction.on_commit(lambda: _publish_event(event))


def _require(user, permission: str, article: Article | None = None) -> None:
    if not user.has_perm(permission, article):
        raise PermissionDenied(_("You are not allowed to do this."))


def _locked(article: Article) -> Article:
    """Re-read the article under a row lock, so two reviewers cannot both act on it."""
    fresh = Article.objects.select_for_update().get(pk=article.pk)
    article.__dict__.update(
        {field.attname: getattr(fresh, field.attname) for field in Article._meta.concrete_fields}
    )
    return article


def _move(article: Article, target: str) -> None:
    if not article_transition_allowed(article.status, target):
        raise KnowledgeError(
            "transition_not_allowed",
            _("An article that is %(current)s cannot become %(target)s.")
            % {
                "current": ArticleStatus(article.status).label,
                "target": ArticleStatus(target).label,
            },
        )
    article.status = target


def _set_tags(article: Article, names: Iterable[str]) -> None:
    cleaned = sorted({name.strip() for name in names if name and name.strip()})
    tags = [Tag.objects.get_or_create(name=name)[0] for name in cleaned]
    article.tags.set(tags)


def _save_version(article: Article, by) -> ArticleVersion:
    article.version += 1
    article.save()
    return ArticleVersion.objects.create(
        article=article,
        number=article.version,
        title=article.title,
        body=article.body,
        edited_by=by,
    )


def create_article(
    *, title: str, body: str, category: Category, by, tags: Iterable[str] = ()
) -> Article:
    """Write a new draft by `by`; its text is saved as version 1."""
    _require(by, "knowledge.add_article")
    if not title.strip():
        raise KnowledgeError("title_required", _("An article needs a title."))
    with transaction.atomic():
        article = Article(title=title.strip(), body=body, category=category, author=by)
        _save_version(article, by)
        _set_tags(article, tags)
        _notify_on_commit("article_created", article)
    return article


def edit_article(
    article: Article,
    *,
    by,
    title: str | None = None,
    body: str | None = None,
    category: Category | None = None,
    tags: Iterable[str] | None = None,
) -> Article:
    """Change a draft; a changed title or body is saved as a new version."""
    _require(by, "knowledge.change_article", article)
    with transaction.atomic():
        _locked(article)
        if article.status != ArticleStatus.DRAFT:
            raise KnowledgeError(
                "not_a_draft", _("Only drafts can be edited; return the article to draft first.")
            )
        text_changed = False
        if title is not None and title.strip() != article.title:
            if not title.strip():
                raise KnowledgeError("title_required", _("An article needs a title."))
            article.title, text_changed = title.strip(), True
        if body is not None and body != article.body:
            article.body, text_changed = body, True
        if category is not None:
            article.category = category
        if text_changed:
            _save_version(article, by)
        else:
            article.save()
        if tags is not None:
            _set_tags(article, tags)
        _notify_on_commit("article_edited", article)
    return article


def submit_article_for_review(article: Article, *, by) -> Article:
    """Hand a draft to the reviewers."""
    _require(by, "knowledge.change_article", article)
    with transaction.atomic():
        _locked(article)
        _move(article, ArticleStatus.IN_REVIEW)
        article.review_comment = ""
        article.save()
        _notify_on_commit("article_submitted", article)
    return article


def approve_article(article: Article, *, by, comment: str = "") -> Article:
    """Accept an article in review: it is published and agents see it from now on."""
    _require(by, "knowledge.approve_article", article)
    with transaction.atomic():
        _locked(article)
        _move(article, ArticleStatus.PUBLISHED)
        article.reviewer = by
        article.review_comment = comment
        article.published_at = timezone.now()
        article.save()
        _notify_on_commit("article_published", article)
    return article


def reject_article(article: Article, *, by, comment: str) -> Article:
    """Send an article in review back to draft, saying why."""
    _require(by, "knowledge.approve_article", article)
    if not comment.strip():
        raise KnowledgeError("comment_required", _("Say why the article is rejected."))
    with transaction.atomic():
        _locked(article)
        _move(article, ArticleStatus.DRAFT)
        article.reviewer = by
        article.review_comment = comment.strip()
        article.save()
        _notify_on_commit("article_rejected", article)
    return article


def unpublish_article(article: Article, *, by, comment: str = "") -> Article:
    """Withdraw a published article from the agents (outdated policy, wrong answer)."""
    _require(by, "knowledge.approve_article", article)
    with transaction.atomic():
        _locked(article)
        _move(article, ArticleStatus.UNPUBLISHED)
        article.reviewer = by
        article.review_comment = comment
        article.published_at = None
        article.save()
        _notify_on_commit("article_unpublished", article)
    return article


def return_article_to_draft(article: Article, *, by) -> Article:
    """Reopen an unpublished article for editing."""
    _require(by, "knowledge.change_article", article)
    with transaction.atomic():
        _locked(article)
        _move(article, ArticleStatus.DRAFT)
        article.save()
        _notify_on_commit("article_reopened", article)
    return article


def add_article_attachment(article: Article, *, file: UploadedFile, by) -> ArticleAttachment:
    """Attach a file after checking its size and type."""
    _require(by, "knowledge.add_articleattachment", article)
    AttachmentValidator()(file)
    file.seek(0)
    content_type = detect_content_type(file.name, file.read(4096)) or ""
    file.seek(0)
    with transaction.atomic():
        attachment = ArticleAttachment.objects.create(
            article=article,
            file=file,
            original_name=file.name[:255],
            content_type=content_type,
            size=file.size,
            uploaded_by=by,
        )
    return attachment
