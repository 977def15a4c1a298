"""Enumerations of the service records app."""

from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_CATEGORY_LEVEL = 3


class CategoryLevel(models.IntegerChoices):
    """The three levels of the service category tree; records use level-3 leaves."""

    DIRECTORY = 1, _("Directory")
    TYPE = 2, _("Type")
    NAME = 3, _("Name")


class StatusKind(models.TextChoices):
    """What a service status means to the workflow. Admin-defined statuses pick one of these.

    Transitions are written between kinds (STATUS_TRANSITIONS), so an admin-defined status such
    as "waiting for parts" (kind pending) follows the same rules as the built-in "pending".
    """

    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    CLOSED = "closed", _("Closed")


# The built-in statuses seeded by migration 0002; their codes equal their kinds.
BUILTIN_STATUS_CODES = (StatusKind.OPEN, StatusKind.PENDING, StatusKind.CLOSED)

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    StatusKind.OPEN: frozenset({StatusKind.OPEN, StatusKind.PENDING, StatusKind.CLOSED}),
    StatusKind.PENDING: frozenset({StatusKind.OPEN, StatusKind.PENDING, StatusKind.CLOSED}),
    # A closed record only comes back by being reopened.
    StatusKind.CLOSED: frozenset({StatusKind.OPEN}),
}


def can_transition(from_kind: str, to_kind: str) -> bool:
    """True when a record whose status is of `from_kind` may move to a status of `to_kind`."""
    return to_kind in STATUS_TRANSITIONS.get(from_kind, frozenset())
