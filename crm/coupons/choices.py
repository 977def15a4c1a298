"""Enumerations of the coupons app."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# Codes avoid look-alike characters (0/O, 1/I/L) because customers read them over the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


class CouponStatus(models.TextChoices):
    """Where a coupon stands. Expiry is a date on the batch, not a stored status.

    Allowed moves are in COUPON_TRANSITIONS: available → issued → redeemed, never back.
    """

    AVAILABLE = "available", _("Available")
    ISSUED = "issued", _("Issued")
    REDEEMED = "redeemed", _("Redeemed")


COUPON_TRANSITIONS: dict[str, frozenset[str]] = {
    CouponStatus.AVAILABLE: frozenset({CouponStatus.ISSUED}),
    CouponStatus.ISSUED: frozenset({CouponStatus.REDEEMED}),
    CouponStatus.REDEEMED: frozenset(),
}
