from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "desk"
    verbose_name = _("Agent desk")
    default_auto_field = "django.db.models.BigAutoField"
