"""pg_trgm and the GIN trigram indexes behind article search (PostgreSQL only).

The indexes cover UPPER(title) and UPPER(body) because Django's icontains compares
UPPER(column) LIKE UPPER(pattern); pg_trgm serves both LIKE '%...%' and the % operator from
them. They are plain SQL rather than Meta.indexes so SQLite never sees them.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "knowledge_article_title_trgm": "title",
    "knowledge_article_body_trgm": "body",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON knowledge_article "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
