"""Service category trees for the records tests."""

from crm.records.models import ServiceCategory


def category_leaf(name: str = "密码重置") -> ServiceCategory:
    directory, _ = ServiceCategory.objects.get_or_create(name="账户", parent=None)
    kind, _ = ServiceCategory.objects.get_or_create(name="咨询", parent=directory)
    leaf, _ = ServiceCategory.objects.get_or_create(name=name, parent=kind)
    return leaf
