"""API representations of the knowledge base."""

from __future__ import annotations

from rest_framework import serializers

from crm.knowledge.models import Article, ArticleAttachment, ArticleVersion, Category


class CategorySerializer(serializers.ModelSerializer):
    """A category; `parent` is only used when creating (the tree decides the path)."""

    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), write_only=True, required=False, allow_null=True
    )

    class Meta:
        model = Category
        fields = ("id", "name", "description", "depth", "path", "parent")
        read_only_fields = ("depth", "path")

    def create(self, validated_data):
        parent = validated_data.pop("parent", None)
        if parent is None:
            return Category.objects.add_root(validated_data)
        return Category.objects.add_child(parent, validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("parent", None)
        return super().update(instance, validated_data)


class ArticleSerializer(serializers.ModelSerializer):
    """An article; status, versions and review fields change only through the actions."""

    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, write_only=True
    )
    tag_names = serializers.SerializerMethodField()
    category_name = serializers.CharField(source="category.name", read_only=True)
    author_name = serializers.CharField(source="author.username", read_only=True)
    reviewer_name = serializers.CharField(source="reviewer.username", read_only=True, default="")

    class Meta:
        model = Article
        fields = (
            "id",
            "title",
            "body",
            "category",
            "category_name",
            "tags",
            "tag_names",
            "status",
            "author",
            "author_name",
            "reviewer",
            "reviewer_name",
            "review_comment",
            "version",
            "published_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "status",
            "author",
            "reviewer",
            "review_comment",
            "version",
            "published_at",
            "created_at",
            "updated_at",
        )

    def get_tag_names(self, article: Article) -> list[str]:
        return [tag.name for tag in article.tags.all()]


class ArticleSearchResultSerializer(ArticleSerializer):
    """A search hit with its rank (higher is better)."""

    rank = serializers.FloatField(read_only=True)

    class Meta(ArticleSerializer.Meta):
        fields = (*ArticleSerializer.Meta.fields, "rank")


class ReviewSerializer(serializers.Serializer):
    """The reviewer's comment on approve, reject or unpublish."""

    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ArticleVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleVersion
        fields = ("id", "number", "title", "body", "edited_by", "created_at")


class ArticleAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleAttachment
        fields = (
            "id",
            "file",
            "original_name",
            "content_type",
            "size",
            "uploaded_by",
            "uploaded_at",
        )
        read_only_fields = ("original_name", "content_type", "size", "uploaded_by", "uploaded_at")
