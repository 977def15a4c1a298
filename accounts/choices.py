"""Roles of the platform's users."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A role is a Django group of the same name; a user may hold several."""

    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    BACKOFFICE = "backoffice", _("Back office")
    ADMIN = "admin", _("Administrator")


# Roles whose holders may open the Django admin site.
STAFF_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
