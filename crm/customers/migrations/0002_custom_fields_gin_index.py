"""GIN index on Customer.custom_fields, on PostgreSQL only.

The index lets `custom_fields__contains={...}` filters use an index across 100+ fields. SQLite
(the zero-configuration dev database) has no GIN, so there the migration does nothing.
"""

from django.db import migrations

INDEX_NAME = "customers_custom_fields_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("customers", "Customer")._meta.db_table
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON {table} USING gin (custom_fields jsonb_path_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
