"""seed_crm_demo adds its demo data once."""

import pytest
from django.core.management import call_command

from crm.coupons.models import Coupon
from crm.customers.models import Customer, CustomFieldDefinition
from crm.customers.services import find_customer_by_phone
from crm.records.models import ServiceCategory


@pytest.mark.django_db
def test_seed_is_idempotent():
    call_command("seed_crm_demo", stdout=None)
    counts = (
        Customer.objects.count(),
        CustomFieldDefinition.objects.count(),
        ServiceCategory.objects.count(),
        Coupon.objects.count(),
    )
    call_command("seed_crm_demo")
    assert counts == (
        Customer.objects.count(),
        CustomFieldDefinition.objects.count(),
        ServiceCategory.objects.count(),
        Coupon.objects.count(),
    )
    assert counts[0] == 4 and counts[3] == 100
    assert find_customer_by_phone("62345678").name == "王芳"
    assert ServiceCategory.objects.filter(level=3).count() == 5
