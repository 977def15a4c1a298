from django.db import migrations

# (code, Chinese name, English name, order, set by the system)
REASONS = [
    ("rest", "小休", "Short break", 1, False),
    ("meal", "用餐", "Meal", 2, False),
    ("meeting", "会议", "Meeting", 3, False),
    ("training", "培训", "Training", 4, False),
    ("after_call", "事后处理", "After-call work", 5, False),
    ("no_answer", "未接来电", "Did not answer", 90, True),
    ("forced", "班长置忙", "Set busy by supervisor", 91, True),
]


def create_busy_reasons(apps, schema_editor):
    BusyReason = apps.get_model("telephony", "BusyReason")
    for code, name, name_en, order, system in REASONS:
        BusyReason.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "order": order, "system": system}
        )


class Migration(migrations.Migration):
    dependencies = [("telephony", "0001_initial")]

    operations = [migrations.RunPython(create_busy_reasons, migrations.RunPython.noop)]
