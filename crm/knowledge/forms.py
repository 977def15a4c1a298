"""Forms of the knowledge base pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.knowledge.models import Article, Category


class CategoryChoiceField(forms.ModelChoiceField):
    """Categories in tree order, indented by depth."""

    def label_from_instance(self, obj: Category) -> str:
        return obj.indented_name


class ArticleForm(forms.Form):
    """Title, body, category and comma-separated tags of an article."""

    title = forms.CharField(label=_("title"), max_length=200)
    body = forms.CharField(label=_("body"), widget=forms.Textarea(attrs={"rows": 16}))
    category = CategoryChoiceField(label=_("category"), queryset=Category.objects.all())
    tags = forms.CharField(
        label=_("tags"),
        required=False,
        help_text=_("Separate tags with commas."),
    )

    @classmethod
    def for_article(cls, article: Article) -> ArticleForm:
        return cls(
            initial={
                "title": article.title,
                "body": article.body,
                "category": article.category,
                "tags": ", ".join(tag.name for tag in article.tags.all()),
            }
        )

    def tag_names(self) -> list[str]:
        raw = self.cleaned_data.get("tags", "").replace("，", ",")
        return [name.strip() for name in raw.split(",") if name.strip()]


class ReviewForm(forms.Form):
    """A reviewer's comment (required when rejecting)."""

    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea)


class SearchForm(forms.Form):
    """The search box of the knowledge page."""

    q = forms.CharField(label=_("search"), required=False, max_length=100)
