"""Who may read and change service records (django-rules).

Agents see and edit their own records (the records of their agent seat or that they wrote);
back-office staff and supervisors see and edit all; admins may do everything; the category tree
and the statuses are admin-only.
"""

import rules

from accounts.rules import is_admin, is_backoffice, is_staff_member, is_supervisor

sees_all_records = is_admin | is_supervisor | is_backoffice


@rules.predicate
def is_own_record(user, record=None) -> bool:
    """Without a record (list endpoints) True: the list itself is filtered to own records."""
    if record is None:
        return True
    if record.created_by_id == user.pk:
        return True
    agent = getattr(user, "agent", None)
    return agent is not None and record.agent_id == agent.pk


rules.add_perm("records", is_admin)
rules.add_perm("records.view_servicerecord", sees_all_records | (is_staff_member & is_own_record))
rules.add_perm("records.add_servicerecord", is_staff_member)
rules.add_perm("records.change_servicerecord", sees_all_records | (is_staff_member & is_own_record))
rules.add_perm("records.delete_servicerecord", is_admin)
rules.add_perm("records.view_followup", is_staff_member)
rules.add_perm("records.add_followup", is_staff_member)
rules.add_perm("records.change_followup", is_admin)
rules.add_perm("records.delete_followup", is_admin)
for _model in ("servicecategory", "servicestatus"):
    rules.add_perm(f"records.view_{_model}", is_staff_member)
    for _action in ("add", "change", "delete"):
        rules.add_perm(f"records.{_action}_{_model}", is_admin)
