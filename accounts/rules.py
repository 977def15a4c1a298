"""Role predicates and the permissions they grant (django-rules)."""

import rules

from accounts.choices import Role


@rules.predicate
def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.ADMIN))


@rules.predicate
def is_supervisor(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.SUPERVISOR))


@rules.predicate
def is_agent(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.AGENT))


@rules.predicate
def is_backoffice(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.BACKOFFICE))


is_staff_member = is_admin | is_supervisor | is_agent | is_backoffice

rules.add_perm("accounts.view_user", is_admin)
rules.add_perm("accounts.add_user", is_admin)
rules.add_perm("accounts.change_user", is_admin)
rules.add_perm("accounts.delete_user", is_admin)
rules.add_perm("auth.view_group", is_admin)
rules.add_perm("accounts", is_admin)
rules.add_perm("auth", is_admin)
rules.add_perm("auth.change_group", is_admin)
