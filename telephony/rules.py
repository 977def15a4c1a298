"""Who may read and change the telephony configuration."""

import rules

from accounts.rules import is_admin, is_supervisor

_MODELS = (
    "skill",
    "agent",
    "agentskill",
    "agentgroup",
    "groupmembership",
    "businesscalendar",
    "businesshours",
    "holiday",
    "calendarexception",
    "queue",
    "queueskill",
    "did",
    "blacklistentry",
    "busyreason",
)

rules.add_perm("telephony", is_admin | is_supervisor)
for _model in _MODELS:
    rules.add_perm(f"telephony.view_{_model}", is_admin | is_supervisor)
    for _action in ("add", "change", "delete"):
        rules.add_perm(f"telephony.{_action}_{_model}", is_admin)

# Supervisors block harassing numbers themselves (the desk and the admin both allow it).
rules.set_perm("telephony.add_blacklistentry", is_admin | is_supervisor)
rules.set_perm("telephony.change_blacklistentry", is_admin | is_supervisor)
