from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WallboardConfig(AppConfig):
    name = "wallboard"
    verbose_name = _("Supervisor wallboard")
    default_auto_field = "django.db.models.BigAutoField"
