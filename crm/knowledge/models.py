"""Knowledge base: a category tree, articles with a review cycle, their versions and files.

Searching Chinese text relies on PostgreSQL's pg_trgm: the migrations create the extension
and GIN trigram indexes on UPPER(title) and UPPER(body), the expressions Django's icontains
compares, so "contains" searches use the index. Those indexes are created with SQL on
PostgreSQL only (they are not in Meta.indexes, which SQLite would try to rebuild).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from crm.knowledge.choices import ArticleStatus
from crm.knowledge.validators import AttachmentValidator


class Category(MP_Node):
    """A node of the category tree (e.g. 社保 > 公积金 > 提取)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ("path",)

    def __str__(self) -> str:
        return self.name

    @property
    def indented_name(self) -> str:
        """The name indented by depth, for flat lists that show the tree."""
        return f"{'— ' * (self.depth - 1)}{self.name}"


class Tag(models.Model):
    """A free label on articles, matched exactly (e.g. 提取, 异地)."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class ArticleQuerySet(models.QuerySet):
    """Article queries that depend on who asks."""

    def published(self) -> ArticleQuerySet:
        return self.filter(status=ArticleStatus.PUBLISHED)

    def visible_to(self, user) -> ArticleQuerySet:
        """Editors see every article; everyone else signed in sees published ones only."""
        if not (user and user.is_authenticated):
            return self.none()
        if user.has_perm("knowledge.change_article"):
            return self
        return self.published()


class Article(models.Model):
    """An answer agents read during calls; changed in draft, published after review."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), help_text=_("Plain text or simple Markdown."))
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="articles"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="articles")
    status = models.CharField(
        _("status"), max_length=20, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="knowledge_articles",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_knowledge_articles",
    )
    review_comment = models.TextField(_("review comment"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=0)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ("-updated_at", "-id")
        indexes = [models.Index(fields=["status", "category"], name="knowledge_article_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ArticleStatus.values),
                name="knowledge_article_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ArticleStatus.PUBLISHED)
                | models.Q(published_at__isnull=False),
                name="knowledge_article_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleVersion(models.Model):
    """The title and body of an article as saved by one edit (version 1 is the first text)."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ("article", "-number")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "number"], name="knowledge_version_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleAttachment(models.Model):
    """A file attached to an article (a form, a flow chart), stored under MEDIA_ROOT."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(
        _("file"), upload_to="knowledge/%Y/%m/", validators=[AttachmentValidator()]
    )
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("article attachment")
        verbose_name_plural = _("article attachments")
        ordering = ("article", "uploaded_at", "id")

    def __str__(self) -> str:
        return self.original_name
