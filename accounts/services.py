"""State changes of user accounts."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.choices import STAFF_ROLES, Role
from accounts.models import User


def ensure_role_groups() -> None:
    """Create the group behind every role (idempotent)."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@transaction.atomic
def set_user_roles(user: User, roles: list[str]) -> None:
    """Give `user` exactly these roles; admins and supervisors may open the admin site."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    ensure_role_groups()
    groups = list(Group.objects.filter(name__in=roles))
    user.groups.remove(*user.groups.filter(name__in=Role.values))
    user.groups.add(*groups)
    user.is_staff = user.is_superuser or bool(set(roles) & STAFF_ROLES)
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("_role_cache", None)


def create_user(username: str, password: str, roles: list[str], **fields) -> User:
    """Create an active user holding `roles`."""
    user = User.objects.create_user(username=username, password=password, **fields)
    set_user_roles(user, roles)
    return user
