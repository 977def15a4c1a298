from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponsConfig(AppConfig):
    """Electronic coupons (电子券): batches, issue to customers, redeem once."""

    name = "crm.coupons"
    label = "coupons"
    verbose_name = _("E-coupons")
