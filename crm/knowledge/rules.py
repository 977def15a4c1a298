"""Who may read, write and review knowledge articles (django-rules)."""

import rules

from accounts.rules import is_admin, is_backoffice, is_supervisor
from crm.knowledge.choices import ArticleStatus


@rules.predicate
def is_published(user, article) -> bool:
    # Without an object the question is "may read some articles": the queryset narrows it.
    return article is None or article.status == ArticleStatus.PUBLISHED


is_editor = is_backoffice | is_supervisor | is_admin
is_reviewer = is_supervisor | is_admin

rules.add_perm("knowledge", rules.is_authenticated)
rules.add_perm("knowledge.view_article", rules.is_authenticated & (is_editor | is_published))
rules.add_perm("knowledge.add_article", is_editor)
rules.add_perm("knowledge.change_article", is_editor)
rules.add_perm("knowledge.delete_article", is_admin)
rules.add_perm("knowledge.approve_article", is_reviewer)

rules.add_perm("knowledge.view_articleversion", is_editor)
rules.add_perm("knowledge.view_articleattachment", rules.is_authenticated)
rules.add_perm("knowledge.add_articleattachment", is_editor)
rules.add_perm("knowledge.delete_articleattachment", is_editor)

rules.add_perm("knowledge.view_category", rules.is_authenticated)
rules.add_perm("knowledge.view_tag", rules.is_authenticated)
for _model in ("category", "tag"):
    for _action in ("add", "change", "delete"):
        rules.add_perm(f"knowledge.{_action}_{_model}", is_reviewer)
