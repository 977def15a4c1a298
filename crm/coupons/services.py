"""Coupon batches, issue and redemption. redeem_coupon succeeds exactly once per code, even when
several desks or API clients redeem the same code at the same moment (row lock)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.coupons.choices import CODE_ALPHABET, CODE_LENGTH, COUPON_TRANSITIONS, CouponStatus
from crm.coupons.models import Coupon, CouponBatch
from crm.customers.errors import BusinessRuleError
from crm.customers.models import Customer

EVENTS_CHANNEL = "crm.events"
MAX_BATCH_QUANTITY = 100_000


def _publish(event: dict[str, Any]) -> None:
    from config.redis import get_redis

    get_redis().publish(EVENTS_CHANNEL, json.dumps(event, ensure_ascii=False))


def new_coupon_code() -> str:
    """A random code from CODE_ALPHABET (31^12 ≈ 7.9e17 codes: guessing one is hopeless)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_coupon_code(code: str) -> str:
    """Codes are read over the phone: ignore case, spaces and dashes."""
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def create_coupon_batch(
    *,
    name: str,
    value: Decimal,
    expires_at: dt.datetime,
    quantity: int,
    currency: str = "CNY",
    by_user=None,
) -> CouponBatch:
    """Create a batch and its `quantity` unique codes in one transaction."""
    if not 1 <= quantity <= MAX_BATCH_QUANTITY:
        raise BusinessRuleError(
            "bad_quantity",
            _("Quantity must be between 1 and %(max)d.") % {"max": MAX_BATCH_QUANTITY},
            field="quantity",
        )
    if expires_at <= timezone.now():
        raise BusinessRuleError(
            "expiry_in_past", _("The expiry must be in the future."), field="expires_at"
        )
    if CouponBatch.objects.filter(name=name).exists():
        raise BusinessRuleError("duplicate_name", _("A batch with this name exists."), field="name")
    with transaction.atomic():
        batch = CouponBatch.objects.create(
            name=name,
            value=value,
            currency=currency.upper(),
            expires_at=expires_at,
            quantity=quantity,
            created_by=by_user,
        )
        codes: set[str] = set()
        while len(codes) < quantity:
            wanted = {new_coupon_code() for _ in range(quantity - len(codes))}
            taken = set(Coupon.objects.filter(code__in=wanted).values_list("code", flat=True))
            codes |= wanted - taken
        Coupon.objects.bulk_create(
            (Coupon(batch=batch, code=code) for code in codes), batch_size=2000
        )
    return batch


def _check_transition(coupon: Coupon, to: str) -> None:
    if to not in COUPON_TRANSITIONS[coupon.status]:
        codes = {
            CouponStatus.REDEEMED: ("already_redeemed", _("This coupon was already redeemed.")),
            CouponStatus.AVAILABLE: ("not_issued", _("This coupon was never issued.")),
            CouponStatus.ISSUED: ("already_issued", _("This coupon was already issued.")),
        }
        code, message = codes[CouponStatus(coupon.status)]
        raise BusinessRuleError(code, message)


def issue_coupon(batch: CouponBatch, customer: Customer, by_agent) -> Coupon:
    """Give `customer` one unissued coupon of `batch`.

    Concurrent issues each take a different row (SKIP LOCKED), so two agents never hand out
    the same code. Raises BusinessRuleError("batch_expired" | "batch_exhausted").
    """
    if batch.is_expired:
        raise BusinessRuleError("batch_expired", _("This batch has expired."))
    with transaction.atomic():
        coupon = (
            Coupon.objects.select_for_update(skip_locked=True)
            .filter(batch=batch, status=CouponStatus.AVAILABLE)
            .order_by("id")
            .first()
        )
        if coupon is None:
            raise BusinessRuleError("batch_exhausted", _("No coupons are left in this batch."))
        _check_transition(coupon, CouponStatus.ISSUED)
        coupon.status = CouponStatus.ISSUED
        coupon.customer = customer
        coupon.issued_by = by_agent
        coupon.issued_at = timezone.now()
        coupon.save(update_fields=["status", "customer", "issued_by", "issued_at"])
        transaction.on_commit(
            lambda: _publish(
                {"type": "coupon.issued", "coupon_id": coupon.pk, "customer_id": customer.pk}
            )
        )
    return coupon


def redeem_coupon(code: str) -> Coupon:
    """Redeem the coupon with `code` exactly once.

    The row is locked (SELECT ... FOR UPDATE) before its status is read, so of concurrent
    attempts exactly one sees "issued"; the others wait, then see "redeemed". Raises
    BusinessRuleError("not_found" | "not_issued" | "already_redeemed" | "expired").
    """
    code = normalize_coupon_code(code)
    with transaction.atomic():
        coupon = (
            Coupon.objects.select_for_update(of=("self",))
            .select_related("batch")
            .filter(code=code)
            .first()
        )
        if coupon is None:
            raise BusinessRuleError("not_found", _("No coupon has this code."))
        _check_transition(coupon, CouponStatus.REDEEMED)
        if coupon.batch.is_expired:
            raise BusinessRuleError("expired", _("This coupon has expired."))
        coupon.status = CouponStatus.REDEEMED
        coupon.redeemed_at = timezone.now()
        coupon.save(update_fields=["status", "redeemed_at"])
        transaction.on_commit(lambda: _publish({"type": "coupon.redeemed", "coupon_id": coupon.pk}))
    return coupon


@dataclass(frozen=True)
class BatchReport:
    """Counts of one batch: issued includes redeemed; expired = issued, unredeemed, past expiry."""

    batch: CouponBatch
    total: int
    available: int
    issued: int
    redeemed: int
    expired: int


def coupon_batch_report(batches: QuerySet[CouponBatch] | None = None) -> list[BatchReport]:
    """Issued / redeemed / expired counts per batch, in one aggregate query."""
    now = timezone.now()
    queryset = (batches if batches is not None else CouponBatch.objects.all()).annotate(
        n_total=Count("coupons"),
        n_available=Count("coupons", filter=Q(coupons__status=CouponStatus.AVAILABLE)),
        n_issued=Count("coupons", filter=~Q(coupons__status=CouponStatus.AVAILABLE)),
        n_redeemed=Count("coupons", filter=Q(coupons__status=CouponStatus.REDEEMED)),
        n_expired=Count(
            "coupons",
            filter=Q(coupons__status=CouponStatus.ISSUED, expires_at__lte=now),
        ),
    )
    return [
        BatchReport(
            batch=batch,
            total=batch.n_total,
            available=batch.n_available,
            issued=batch.n_issued,
            redeemed=batch.n_redeemed,
            expired=batch.n_expired,
        )
        for batch in queryset
    ]
