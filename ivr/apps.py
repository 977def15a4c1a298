"""The IVR app: flows and their versions, emergency notices, voicemail, the 12329 demo data."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IvrConfig(AppConfig):
    """Connects the signals that publish the flow snapshot on commit."""

    name = "ivr"
    verbose_name = _("IVR")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ivr import signals  # noqa: F401
