"""Every committed change to flows or emergency notices publishes a new flow snapshot."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from ivr import models as m
from ivr.snapshot import schedule_flow_publish


def _changed(sender, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    schedule_flow_publish()


for _model in (m.Flow, m.FlowVersion, m.EmergencyNotice):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"ivr-save-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"ivr-delete-{_model.__name__}")
m2m_changed.connect(_changed, sender=m.EmergencyNotice.flows.through, dispatch_uid="ivr-notices")
