"""Seed the three built-in statuses: open, pending, closed (names in Chinese and English)."""

from django.db import migrations

BUILTIN = [
    ("open", "待处理", "Open", 10),
    ("pending", "处理中", "Pending", 20),
    ("closed", "已关闭", "Closed", 30),
]


def seed(apps, schema_editor):
    status_model = apps.get_model("records", "ServiceStatus")
    for code, name, name_en, order in BUILTIN:
        status_model.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "kind": code,
                "builtin": True,
                "order": order,
            },
        )


def unseed(apps, schema_editor):
    status_model = apps.get_model("records", "ServiceStatus")
    status_model.objects.filter(
        code__in=[code for code, *_ in BUILTIN], records__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
