from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkOrdersConfig(AppConfig):
    """Work orders on configurable workflows, deadlines, overdue alerts, customer self-query."""

    name = "crm.workorders"
    label = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        # The overdue check runs from Celery beat; the entry lives with the app it serves and
        # is merged into the project's Celery app here, so settings stay untouched.
        from config.celery import app
        from crm.workorders.tasks import BEAT_SCHEDULE

        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
