"""Who may read and change customers, custom fields and spreadsheet jobs (django-rules).

Agents read customers; back-office staff, supervisors and admins edit them, import and export;
custom field definitions and code tables are admin-only.
"""

import rules

from accounts.rules import is_admin, is_backoffice, is_staff_member, is_supervisor

can_manage_customers = is_admin | is_supervisor | is_backoffice


@rules.predicate
def is_job_creator(user, job=None) -> bool:
    return job is None or job.created_by_id == user.pk


rules.add_perm("customers", is_admin)
rules.add_perm("customers.view_customer", is_staff_member)
rules.add_perm("customers.add_customer", can_manage_customers)
rules.add_perm("customers.change_customer", can_manage_customers)
rules.add_perm("customers.delete_customer", is_admin)
rules.add_perm("customers.view_customerphone", is_staff_member)
for _action in ("add", "change", "delete"):
    rules.add_perm(f"customers.{_action}_customerphone", can_manage_customers)

for _model in ("customfielddefinition", "codetable", "codetableentry"):
    rules.add_perm(f"customers.view_{_model}", is_staff_member)
    for _action in ("add", "change", "delete"):
        rules.add_perm(f"customers.{_action}_{_model}", is_admin)

# Import and export: the people who manage customers; each sees the jobs they started.
rules.add_perm("customers.add_spreadsheetjob", can_manage_customers)
rules.add_perm("customers.view_spreadsheetjob", is_admin | (can_manage_customers & is_job_creator))
rules.add_perm("customers.change_spreadsheetjob", is_admin)
rules.add_perm("customers.delete_spreadsheetjob", is_admin)
