"""Knowledge base API: thin adapters over crm.knowledge.services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from config.api import RulesModelPermission
from crm.knowledge import services
from crm.knowledge.api import serializers as s
from crm.knowledge.filtersets import ArticleFilterSet
from crm.knowledge.models import Article, Category
from crm.knowledge.search import search_articles


class Conflict(APIException):
    """The request is valid but the article's state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def run_service(function, *args, **kwargs):
    """Call a service, turning its refusals into API errors with stable codes."""
    try:
        return function(*args, **kwargs)
    except services.KnowledgeError as error:
        raise Conflict(error.message, code=error.code) from error
    except DjangoValidationError as error:
        raise ValidationError(serializers.as_serializer_error(error)) from error


class CategoryViewSet(viewsets.ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = s.CategorySerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("depth",)


class ArticleViewSet(viewsets.ModelViewSet):
    queryset = Article.objects.select_related("category", "author", "reviewer").prefetch_related(
        "tags"
    )
    serializer_class = s.ArticleSerializer
    permission_classes = (RulesModelPermission,)
    filterset_class = ArticleFilterSet

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = run_service(
            services.create_article,
            title=data["title"],
            body=data["body"],
            category=data["category"],
            tags=data.get("tags", ()),
            by=self.request.user,
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = run_service(
            services.edit_article,
            serializer.instance,
            by=self.request.user,
            title=data.get("title"),
            body=data.get("body"),
            category=data.get("category"),
            tags=data.get("tags"),
        )

    def _respond(self, article: Article) -> Response:
        article = self.get_queryset().get(pk=article.pk)
        return Response(s.ArticleSerializer(article, context=self.get_serializer_context()).data)

    def _review(self, request, function) -> Response:
        review = s.ReviewSerializer(data=request.data)
        review.is_valid(raise_exception=True)
        article = self.get_object()
        return self._respond(
            run_service(
                function, article, by=request.user, comment=review.validated_data["comment"]
            )
        )

    @extend_schema(request=None, responses=s.ArticleSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Hand a draft to the reviewers."""
        article = self.get_object()
        return self._respond(
            run_service(services.submit_article_for_review, article, by=request.user)
        )

    @extend_schema(request=s.ReviewSerializer, responses=s.ArticleSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Publish an article in review (supervisors and administrators)."""
        return self._review(request, services.approve_article)

    @extend_schema(request=s.ReviewSerializer, responses=s.ArticleSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Send an article in review back to draft with a comment."""
        return self._review(request, services.reject_article)

    @extend_schema(request=s.ReviewSerializer, responses=s.ArticleSerializer)
    @action(detail=True, methods=["post"])
    def unpublish(self, request, pk=None):
        """Withdraw a published article."""
        return self._review(request, services.unpublish_article)

    @extend_schema(request=None, responses=s.ArticleSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Return an unpublished article to draft."""
        article = self.get_object()
        return self._respond(
            run_service(services.return_article_to_draft, article, by=request.user)
        )

    @extend_schema(responses=s.ArticleVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every saved version of the article, newest first (editors only)."""
        article = self.get_object()
        if not request.user.has_perm("knowledge.view_articleversion", article):
            self.permission_denied(request)
        versions = article.versions.select_related("edited_by")
        return Response(s.ArticleVersionSerializer(versions, many=True).data)

    @extend_schema(
        request={"multipart/form-data": s.ArticleAttachmentSerializer},
        responses=s.ArticleAttachmentSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=(MultiPartParser, FormParser),
    )
    def attachments(self, request, pk=None):
        """List the article's files, or upload one (editors)."""
        article = self.get_object()
        context = self.get_serializer_context()
        if request.method == "POST":
            upload = s.ArticleAttachmentSerializer(data=request.data, context=context)
            upload.is_valid(raise_exception=True)
            attachment = run_service(
                services.add_article_attachment,
                article,
                file=upload.validated_data["file"],
                by=request.user,
            )
            return Response(
                s.ArticleAttachmentSerializer(attachment, context=context).data,
                status=status.HTTP_201_CREATED,
            )
        return Response(
            s.ArticleAttachmentSerializer(
                article.attachments.all(), many=True, context=context
            ).data
        )

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Words to look for (Chinese is fine)")],
        responses=s.ArticleSearchResultSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def search(self, request):
        """Published articles (all for editors) matching `q`, best first."""
        queryset = self.filter_queryset(self.get_queryset())
        results = search_articles(request.query_params.get("q", ""), queryset)
        page = self.paginate_queryset(results)
        serializer = s.ArticleSearchResultSerializer(
            page, many=True, context=self.get_serializer_context()
        )
        return self.get_paginated_response(serializer.data)
