"""Who may read and change IVR data (admin screens and API)."""

import rules

from accounts.rules import is_admin, is_agent, is_supervisor

rules.add_perm("ivr", is_admin | is_supervisor)
for _model in ("flow", "flowversion", "housingfundaccount", "housingloan"):
    rules.add_perm(f"ivr.view_{_model}", is_admin | is_supervisor)
    for _action in ("add", "change", "delete"):
        rules.add_perm(f"ivr.{_action}_{_model}", is_admin)
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"ivr.{_action}_emergencynotice", is_admin | is_supervisor)
rules.add_perm("ivr.view_voicemailmessage", is_admin | is_supervisor | is_agent)
rules.add_perm("ivr.change_voicemailmessage", is_admin | is_supervisor | is_agent)
rules.add_perm("ivr.delete_voicemailmessage", is_admin)
rules.add_perm("ivr.view_voicemailnotification", is_admin | is_supervisor)
