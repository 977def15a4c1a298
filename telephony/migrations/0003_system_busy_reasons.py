from django.db import migrations

# (code, Chinese name, English name, order): reasons the daemon sets by itself, so that the
# desk and the reports can name them.
REASONS = [
    ("outbound", "外呼", "Outbound call", 92),
    ("consult", "咨询", "Consulted by a colleague", 93),
]


def create_reasons(apps, schema_editor):
    BusyReason = apps.get_model("telephony", "BusyReason")
    for code, name, name_en, order in REASONS:
        BusyReason.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "order": order, "system": True}
        )


class Migration(migrations.Migration):
    dependencies = [("telephony", "0002_busy_reasons")]

    operations = [migrations.RunPython(create_reasons, migrations.RunPython.noop)]
