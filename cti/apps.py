from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CtiConfig(AppConfig):
    """The daemon's Django face: management commands and the models of durable facts."""

    name = "cti"
    verbose_name = _("CTI")
