"""Admin for the category tree and tags; articles are shown with their versions.

Article status changes go through the review pages and API (services), so the admin shows
status and review fields read-only.
"""

from django.contrib import admin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from crm.knowledge.models import Article, ArticleAttachment, ArticleVersion, Category, Tag


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    form = movenodeform_factory(Category)
    list_display = ("name", "description")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class ArticleVersionInline(admin.TabularInline):
    model = ArticleVersion
    fields = ("number", "title", "edited_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ArticleAttachmentInline(admin.TabularInline):
    model = ArticleAttachment
    fields = ("original_name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "status", "author", "version", "updated_at")
    list_filter = ("status", "category")
    search_fields = ("title",)
    readonly_fields = (
        "title",
        "body",
        "category",
        "status",
        "author",
        "reviewer",
        "review_comment",
        "version",
        "published_at",
        "created_at",
        "updated_at",
    )
    inlines = (ArticleVersionInline, ArticleAttachmentInline)

    def has_add_permission(self, request) -> bool:
        # Articles are written and reviewed on the knowledge pages, which keep the versions.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
