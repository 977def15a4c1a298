"""Coupon pages: the per-batch report and a redemption form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm.coupons import services
from crm.customers.errors import BusinessRuleError


@login_required
@permission_required("coupons.view_report", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    """Issued, redeemed and expired coupons per batch."""
    return render(request, "coupons/report.html", {"rows": services.coupon_batch_report()})


@login_required
@permission_required("coupons.redeem_coupon", raise_exception=True)
def redeem(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            coupon = services.redeem_coupon(request.POST.get("code", ""))
        except BusinessRuleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Coupon %(code)s redeemed.") % {"code": coupon.code})
        return redirect("coupons:redeem")
    return render(request, "coupons/redeem.html")
