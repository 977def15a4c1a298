"""User accounts."""

from django.contrib.auth.models import AbstractUser
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role


class User(AbstractUser):
    """A person who signs in: agent, supervisor, back-office staff or administrator."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("username",)

    @property
    def roles(self) -> set[str]:
        """Role codes held through group membership; superusers hold every role."""
        if self.is_superuser:
            return {role.value for role in Role}
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = set(self.groups.filter(name__in=Role.values).values_list("name", flat=True))
            self._role_cache = cached
        return cached

    def has_role(self, role: str) -> bool:
        return role in self.roles
