"""Admin: departments and workflows are configured here; orders are shown read-only.

Orders change only through the services (pages and API), which keep the step log.
"""

from django.contrib import admin

from crm.workorders.models import (
    Department,
    Notification,
    Workflow,
    WorkflowNode,
    WorkflowTransition,
    WorkOrder,
    WorkOrderStep,
)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    search_fields = ("name",)
    filter_horizontal = ("members",)


class WorkflowNodeInline(admin.TabularInline):
    model = WorkflowNode
    fields = (
        "name",
        "department",
        "assignee_role",
        "assignee",
        "time_limit_hours",
        "is_start",
        "is_end",
    )
    extra = 1


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    inlines = (WorkflowNodeInline,)


@admin.register(WorkflowTransition)
class WorkflowTransitionAdmin(admin.ModelAdmin):
    list_display = ("from_node", "to_node", "label")
    list_filter = ("from_node__workflow",)


class WorkOrderStepInline(admin.TabularInline):
    model = WorkOrderStep
    fields = ("created_at", "from_node", "to_node", "actor", "comment", "is_internal")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "status", "current_node", "department", "deadline")
    list_filter = ("status", "department", "workflow")
    search_fields = ("number", "title")
    inlines = (WorkOrderStepInline,)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "text", "read", "created_at")
    list_filter = ("read",)
