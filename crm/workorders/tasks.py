"""Celery tasks of work orders, and their beat schedule (merged into the app in apps.py)."""

from __future__ import annotations

from celery import shared_task

OVERDUE_TASK_NAME = "crm.workorders.send_overdue_alerts"

BEAT_SCHEDULE = {
    "workorders-overdue-alerts": {
        "task": OVERDUE_TASK_NAME,
        "schedule": 60.0,
        # A run that waited longer than the period is superseded by the next one.
        "options": {"expires": 55},
    },
}


@shared_task(name=OVERDUE_TASK_NAME, ignore_result=True)
def send_overdue_alerts_task() -> int:
    """Every minute: notify about work orders past their deadline (idempotent)."""
    from crm.workorders.services import send_overdue_alerts

    return send_overdue_alerts()
