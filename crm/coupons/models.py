"""Electronic coupons (电子券): a batch of unique codes, issued to customers, redeemed once."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.coupons.choices import CODE_LENGTH, CouponStatus


class CouponBatch(models.Model):
    """A run of coupons of one value and expiry; creating it generates `quantity` codes."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    value = models.DecimalField(
        _("value"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expires_at = models.DateTimeField(_("expires"))
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="coupons_batch_quantity_gt_0"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="coupons_batch_value_ge_0"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class Coupon(models.Model):
    """One code of a batch; at most one customer holds it and it is redeemed at most once."""

    batch = models.ForeignKey(
        CouponBatch, verbose_name=_("batch"), on_delete=models.CASCADE, related_name="coupons"
    )
    code = models.CharField(_("code"), max_length=CODE_LENGTH, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CouponStatus.choices, default=CouponStatus.AVAILABLE
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons",
    )
    issued_by = models.ForeignKey(
        "telephony.Agent",
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ("batch", "id")
        indexes = [models.Index(fields=("batch", "status"), name="coupons_batch_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CouponStatus.AVAILABLE, customer__isnull=True)
                | (~Q(status=CouponStatus.AVAILABLE) & Q(customer__isnull=False)),
                name="coupons_customer_iff_issued",
            ),
            models.CheckConstraint(
                condition=~Q(status=CouponStatus.REDEEMED) | Q(redeemed_at__isnull=False),
                name="coupons_redeemed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.code
