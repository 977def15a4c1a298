"""Enumerations of the IVR app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FlowSource(models.TextChoices):
    """Where a flow version came from."""

    FILE = "file", _("Shipped file")
    EDITOR = "editor", _("Editor")


class VoicemailStatus(models.TextChoices):
    """A message's progress: new → heard → handled (handled may also follow new)."""

    NEW = "new", _("New")
    HEARD = "heard", _("Heard")
    HANDLED = "handled", _("Handled")


VOICEMAIL_TRANSITIONS: dict[str, frozenset[str]] = {
    VoicemailStatus.NEW: frozenset({VoicemailStatus.HEARD, VoicemailStatus.HANDLED}),
    VoicemailStatus.HEARD: frozenset({VoicemailStatus.HANDLED}),
    VoicemailStatus.HANDLED: frozenset(),
}


class PromptLanguage(models.TextChoices):
    CHINESE = "zh", _("Chinese")
    ENGLISH = "en", _("English")
