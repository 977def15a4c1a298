"""Who may see and handle work orders (django-rules).

Back-office staff see their departments' orders (and those assigned to them); supervisors and
admins see all; agents see the orders they created or escalated from their service records.
Handling (advancing, claiming) is for the assignee, department members, supervisors, admins.
"""

import rules

from accounts.rules import is_admin, is_agent, is_backoffice, is_staff_member, is_supervisor

sees_all_orders = is_admin | is_supervisor


@rules.predicate
def is_department_member(user, order=None) -> bool:
    if order is None:
        return True
    if order.department_id is None:
        return False
    return order.department.members.filter(pk=user.pk).exists()


@rules.predicate
def is_assignee(user, order=None) -> bool:
    return order is None or order.assignee_id == user.pk


@rules.predicate
def is_requester(user, order=None) -> bool:
    """The user opened the order, or it came from one of their service records."""
    if order is None:
        return True
    if order.created_by_id == user.pk:
        return True
    record = order.service_record
    if record is None:
        return False
    if record.created_by_id == user.pk:
        return True
    agent = getattr(user, "agent", None)
    return agent is not None and record.agent_id == agent.pk


@rules.predicate
def may_see_record(user, record=None) -> bool:
    return record is None or user.has_perm("records.view_servicerecord", record)


handles_order = sees_all_orders | (is_backoffice & (is_assignee | is_department_member))

rules.add_perm("workorders", is_staff_member)
rules.add_perm(
    "workorders.view_workorder",
    sees_all_orders
    | (is_backoffice & (is_assignee | is_department_member | is_requester))
    | (is_agent & is_requester),
)
rules.add_perm("workorders.add_workorder", is_backoffice | sees_all_orders)
rules.add_perm("workorders.change_workorder", handles_order)
rules.add_perm("workorders.cancel_workorder", sees_all_orders)
rules.add_perm("workorders.delete_workorder", is_admin)
rules.add_perm("workorders.escalate_servicerecord", is_staff_member & may_see_record)

rules.add_perm("workorders.view_workorderstep", is_staff_member)
rules.add_perm("workorders.view_workorderattachment", is_staff_member)
rules.add_perm("workorders.view_notification", rules.is_authenticated)
rules.add_perm("workorders.change_notification", rules.is_authenticated)

for _model in ("department", "workflow", "workflownode", "workflowtransition"):
    rules.add_perm(f"workorders.view_{_model}", is_staff_member)
    for _action in ("add", "change", "delete"):
        rules.add_perm(f"workorders.{_action}_{_model}", is_admin)
