"""Demo data for the back office: custom fields, a category tree, customers, a coupon batch.

Idempotent: running it again finds what it created and adds nothing twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.coupons.models import CouponBatch
from crm.coupons.services import create_coupon_batch
from crm.customers.choices import FieldType, VipLevel
from crm.customers.models import CodeTable, CodeTableEntry, CustomerPhone, CustomFieldDefinition
from crm.customers.services import create_customer
from crm.records.models import ServiceCategory

FIELDS = [
    ("gender", "性别", "Gender", FieldType.CHOICE, ["男", "女"], True),
    ("birthday", "生日", "Birthday", FieldType.DATE, [], False),
    ("hobbies", "爱好", "Hobbies", FieldType.MULTI_CHOICE, ["读书", "跑步", "音乐"], False),
    ("annual_income", "年收入", "Annual income", FieldType.NUMBER, [], False),
    ("industry", "行业", "Industry", FieldType.CODE_TABLE, [], True),
]
INDUSTRIES = [("FIN", "金融", "Finance"), ("EDU", "教育", "Education"), ("IT", "信息技术", "IT")]
CATEGORIES = {
    ("账户", "Accounts"): {
        ("咨询", "Questions"): [("密码重置", "Password reset"), ("账单查询", "Bill enquiry")],
        ("投诉", "Complaints"): [("扣费异常", "Wrong charge")],
    },
    ("宽带", "Broadband"): {
        ("故障", "Faults"): [("无法上网", "No connection"), ("网速慢", "Slow connection")],
    },
}
CUSTOMERS = [
    ("张伟", ["13800138000"], VipLevel.GOLD, "北京", {"gender": "男", "industry": "FIN"}),
    ("王芳", ["13900139000", "010-62345678"], VipLevel.REGULAR, "北京", {"gender": "女"}),
    ("李娜", ["13700137000"], VipLevel.PLATINUM, "上海", {"gender": "女", "industry": "IT"}),
    ("刘强", ["13600136000"], VipLevel.SILVER, "广州", {"hobbies": ["跑步"], "industry": "EDU"}),
]


class Command(BaseCommand):
    help = "Add demo customers, custom fields, service categories and a coupon batch."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        table, _ = CodeTable.objects.get_or_create(
            key="industry", defaults={"name": "行业", "name_en": "Industry"}
        )
        for order, (code, label, label_en) in enumerate(INDUSTRIES):
            CodeTableEntry.objects.get_or_create(
                table=table,
                code=code,
                defaults={"label": label, "label_en": label_en, "order": order},
            )
        for order, (key, label, label_en, kind, choices, screen_pop) in enumerate(FIELDS):
            CustomFieldDefinition.objects.get_or_create(
                key=key,
                defaults={
                    "label": label,
                    "label_en": label_en,
                    "field_type": kind,
                    "choices": choices,
                    "order": order,
                    "show_in_screen_pop": screen_pop,
                    "code_table": table if kind == FieldType.CODE_TABLE else None,
                },
            )
        for (name, name_en), types in CATEGORIES.items():
            directory, _ = ServiceCategory.objects.get_or_create(
                name=name, parent=None, defaults={"name_en": name_en}
            )
            for (type_name, type_en), leaves in types.items():
                kind, _ = ServiceCategory.objects.get_or_create(
                    name=type_name, parent=directory, defaults={"name_en": type_en}
                )
                for leaf, leaf_en in leaves:
                    ServiceCategory.objects.get_or_create(
                        name=leaf, parent=kind, defaults={"name_en": leaf_en}
                    )
        created = 0
        for name, phones, vip, region, fields in CUSTOMERS:
            if CustomerPhone.objects.filter(number__in=[f"+86{phones[0]}"]).exists():
                continue
            create_customer(
                name=name, phones=phones, vip_level=vip, region=region, custom_fields=fields
            )
            created += 1
        if not CouponBatch.objects.filter(name="演示券").exists():
            create_coupon_batch(
                name="演示券",
                value=Decimal("20.00"),
                expires_at=timezone.now() + dt.timedelta(days=90),
                quantity=100,
            )
        self.stdout.write(f"crm demo data ready ({created} customers added)")
