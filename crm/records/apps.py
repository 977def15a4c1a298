from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    """Service records (业务记录): what a caller wanted and how it was handled."""

    name = "crm.records"
    label = "records"
    verbose_name = _("Service records")
