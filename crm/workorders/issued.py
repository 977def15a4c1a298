"""The query password of a new order, shown to the person who opened it exactly once.

Only the hash is stored on the order. Between the form's POST and the page the browser is
redirected to, the plain password waits in that user's session; the page that shows it
removes it, so reloading or sharing the page's address does not show it again.
"""

from __future__ import annotations

from django.http import HttpRequest

from crm.workorders.models import WorkOrder

SESSION_KEY_PREFIX = "workorders:issued:"


def remember_issued_password(request: HttpRequest, order: WorkOrder) -> None:
    """Keep `order.issued_query_password` for the next page this user opens."""
    request.session[f"{SESSION_KEY_PREFIX}{order.pk}"] = {
        "number": order.number,
        "password": order.issued_query_password,
    }


def pop_issued_password(request: HttpRequest, order: WorkOrder) -> dict[str, str] | None:
    """The {"number", "password"} waiting for `order`, removed from the session; else None."""
    return request.session.pop(f"{SESSION_KEY_PREFIX}{order.pk}", None)
