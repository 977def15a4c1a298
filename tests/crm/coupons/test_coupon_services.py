"""Coupons: batch codes, issue, exactly-once redemption under real concurrency, report."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from crm.coupons.models import Coupon, CouponBatch
from crm.coupons.services import (
    coupon_batch_report,
    create_coupon_batch,
    issue_coupon,
    redeem_coupon,
)
from crm.customers.errors import BusinessRuleError
from crm.customers.services import create_customer


def make_batch(quantity=5, days=30, name="春节券"):
    return create_coupon_batch(
        name=name,
        value=Decimal("50.00"),
        expires_at=timezone.now() + dt.timedelta(days=days),
        quantity=quantity,
    )


@pytest.mark.django_db
def test_batch_generates_unique_codes():
    batch = make_batch(quantity=200)
    codes = list(batch.coupons.values_list("code", flat=True))
    assert len(codes) == 200 == len(set(codes))
    assert all(len(code) == 12 and "0" not in code and "O" not in code for code in codes)


@pytest.mark.django_db
def test_issue_redeem_once_and_report():
    batch = make_batch(quantity=2)
    customer = create_customer(name="张三", phones=["13800138000"])
    first = issue_coupon(batch, customer, None)
    second = issue_coupon(batch, customer, None)
    assert first.code != second.code
    with pytest.raises(BusinessRuleError) as info:
        issue_coupon(batch, customer, None)
    assert info.value.code == "batch_exhausted"
    redeemed = redeem_coupon(first.code.lower())
    assert redeemed.status == "redeemed"
    with pytest.raises(BusinessRuleError) as info:
        redeem_coupon(first.code)
    assert info.value.code == "already_redeemed"
    (row,) = coupon_batch_report()
    assert (row.total, row.available, row.issued, row.redeemed, row.expired) == (2, 0, 2, 1, 0)


@pytest.mark.django_db
def test_expired_coupons_cannot_be_redeemed_and_count_as_expired():
    batch = make_batch(quantity=3)
    customer = create_customer(name="李四", phones=["13900139000"])
    coupon = issue_coupon(batch, customer, None)
    CouponBatch.objects.filter(pk=batch.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    with pytest.raises(BusinessRuleError) as info:
        redeem_coupon(coupon.code)
    assert info.value.code == "expired"
    batch.refresh_from_db()
    with pytest.raises(BusinessRuleError) as info:
        issue_coupon(batch, customer, None)
    assert info.value.code == "batch_expired"
    (row,) = coupon_batch_report()
    assert (row.issued, row.redeemed, row.expired, row.available) == (1, 0, 1, 2)


@pytest.mark.django_db
def test_unissued_and_unknown_codes_are_refused():
    batch = make_batch(quantity=1)
    with pytest.raises(BusinessRuleError) as info:
        redeem_coupon(batch.coupons.get().code)
    assert info.value.code == "not_issued"
    with pytest.raises(BusinessRuleError) as info:
        redeem_coupon("NOSUCHCODE22")
    assert info.value.code == "not_found"


# A real transaction per thread; built-in statuses the flush removes are recreated on demand.
@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_succeed_exactly_once():
    assert connection.vendor == "postgresql"
    batch = make_batch(quantity=1, name="并发券")
    customer = create_customer(name="王五", phones=["13700137000"])
    code = issue_coupon(batch, customer, None).code
    attempts = 8
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt():
        from django.db import connections

        try:
            barrier.wait()
            try:
                redeem_coupon(code)
                result = "ok"
            except BusinessRuleError as error:
                result = error.code
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["already_redeemed"] * (attempts - 1) + ["ok"]
    assert Coupon.objects.get(code=code).status == "redeemed"
