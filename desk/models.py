"""The desk's own fact: which abandoned calls and callback requests were returned."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReturnedCall(models.Model):
    """An abandoned call or callback request that an agent called back."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, unique=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("returned by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    returned_at = models.DateTimeField(_("returned at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("returned call")
        verbose_name_plural = _("returned calls")
        ordering = ("-returned_at",)

    def __str__(self) -> str:
        return self.call_uuid
