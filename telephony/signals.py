"""Every committed change to the telephony configuration publishes a new snapshot."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from telephony import models as m
from telephony.snapshot import schedule_publish

CONFIG_MODELS = (
    m.Skill,
    m.Agent,
    m.AgentSkill,
    m.AgentGroup,
    m.GroupMembership,
    m.BusinessCalendar,
    m.BusinessHours,
    m.Holiday,
    m.CalendarException,
    m.Queue,
    m.QueueSkill,
    m.DID,
    m.BlacklistEntry,
    m.BusyReason,
)


def _changed(sender, **kwargs) -> None:
    if kwargs.get("raw"):
        return  # fixtures being loaded; the loader publishes once at the end
    schedule_publish()


for model in CONFIG_MODELS:
    post_save.connect(_changed, sender=model, dispatch_uid=f"snapshot-save-{model.__name__}")
    post_delete.connect(_changed, sender=model, dispatch_uid=f"snapshot-delete-{model.__name__}")
m2m_changed.connect(
    _changed, sender=m.AgentGroup.supervisors.through, dispatch_uid="snapshot-supervisors"
)
