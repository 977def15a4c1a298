"""Knowledge base pages: search (the desk's main use), reading, writing and reviewing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.knowledge import services
from crm.knowledge.filtersets import ArticleFilterSet
from crm.knowledge.forms import ArticleForm, ReviewForm, SearchForm
from crm.knowledge.models import Article
from crm.knowledge.search import search_articles

PAGE_SIZE = 50

# action name in the URL -> (service, whether it takes the reviewer's comment)
ACTIONS = {
    "submit": (services.submit_article_for_review, False),
    "approve": (services.approve_article, True),
    "reject": (services.reject_article, True),
    "unpublish": (services.unpublish_article, True),
    "reopen": (services.return_article_to_draft, False),
}


def _articles(request: HttpRequest):
    return Article.objects.visible_to(request.user).select_related("category", "author")


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Search box and results; editors can also filter by status and category."""
    form = SearchForm(request.GET)
    filterset = ArticleFilterSet(request.GET, queryset=_articles(request))
    articles = filterset.qs
    query = form.cleaned_data["q"] if form.is_valid() else ""
    if query:
        articles = search_articles(query, articles)
    context = {
        "form": form,
        "filterset": filterset,
        "query": query,
        "articles": articles[:PAGE_SIZE],
        "can_edit": request.user.has_perm("knowledge.add_article"),
    }
    return render(request, "knowledge/search.html", context)


@login_required
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(_articles(request).prefetch_related("tags", "attachments"), pk=pk)
    user = request.user
    context = {
        "article": article,
        "can_edit": user.has_perm("knowledge.change_article", article),
        "can_review": user.has_perm("knowledge.approve_article", article),
        "versions": article.versions.select_related("edited_by")
        if user.has_perm("knowledge.view_articleversion", article)
        else [],
        "review_form": ReviewForm(),
    }
    return render(request, "knowledge/article_detail.html", context)


@login_required
def article_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Write a new article (no pk) or change a draft."""
    article = get_object_or_404(_articles(request), pk=pk) if pk else None
    permission = "knowledge.change_article" if article else "knowledge.add_article"
    if not request.user.has_perm(permission, article):
        raise PermissionDenied
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if article is None:
                    article = services.create_article(
                        title=data["title"],
                        body=data["body"],
                        category=data["category"],
                        tags=form.tag_names(),
                        by=request.user,
                    )
                else:
                    services.edit_article(
                        article,
                        by=request.user,
                        title=data["title"],
                        body=data["body"],
                        category=data["category"],
                        tags=form.tag_names(),
                    )
            except services.KnowledgeError as error:
                form.add_error(None, error.message)
            else:
                return redirect("knowledge:article", pk=article.pk)
    else:
        form = ArticleForm.for_article(article) if article else ArticleForm()
    return render(request, "knowledge/article_form.html", {"form": form, "article": article})


@login_required
@require_POST
def article_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Submit, approve, reject, unpublish or reopen an article from its page."""
    if action not in ACTIONS:
        return HttpResponse(status=404)
    article = get_object_or_404(_articles(request), pk=pk)
    function, takes_comment = ACTIONS[action]
    form = ReviewForm(request.POST)
    form.is_valid()
    kwargs = {"comment": form.cleaned_data.get("comment", "")} if takes_comment else {}
    try:
        function(article, by=request.user, **kwargs)
    except services.KnowledgeError as error:
        messages.error(request, error.message)
    return redirect("knowledge:article", pk=article.pk)
