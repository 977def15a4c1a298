from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    """Knowledge base: category tree, articles with versions and review, Chinese search."""

    name = "crm.knowledge"
    label = "knowledge"
    verbose_name = _("Knowledge base")
