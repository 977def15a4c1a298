"""API representations of work orders."""

from __future__ import annotations

from rest_framework import serializers

from crm.workorders.choices import Priority
from crm.workorders.models import (
    Department,
    Notification,
    Workflow,
    WorkflowNode,
    WorkflowTransition,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderStep,
)


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ("id", "name", "members")


class WorkflowTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowTransition
        fields = ("id", "from_node", "to_node", "label")


class WorkflowNodeSerializer(serializers.ModelSerializer):
    outgoing = WorkflowTransitionSerializer(many=True, read_only=True)

    class Meta:
        model = WorkflowNode
        fields = (
            "id",
            "name",
            "department",
            "assignee_role",
            "assignee",
            "time_limit_hours",
            "is_start",
            "is_end",
            "outgoing",
        )


class WorkflowSerializer(serializers.ModelSerializer):
    """A workflow with its nodes and their outgoing transitions (read only: admin edits)."""

    nodes = WorkflowNodeSerializer(many=True, read_only=True)

    class Meta:
        model = Workflow
        fields = ("id", "name", "description", "active", "nodes")


class WorkOrderSerializer(serializers.ModelSerializer):
    """A work order; it moves only through the actions (advance, claim, cancel)."""

    current_node_name = serializers.CharField(source="current_node.name", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True, default="")
    assignee_name = serializers.CharField(source="assignee.username", read_only=True, default="")
    is_overdue = serializers.BooleanField(read_only=True)
    query_password = serializers.CharField(
        write_only=True, required=False, min_length=4, max_length=32
    )

    class Meta:
        model = WorkOrder
        fields = (
            "id",
            "number",
            "title",
            "description",
            "customer",
            "service_record",
            "workflow",
            "current_node",
            "current_node_name",
            "status",
            "assignee",
            "assignee_name",
            "department",
            "department_name",
            "priority",
            "deadline",
            "is_overdue",
            "created_by",
            "created_at",
            "closed_at",
            "query_password",
        )
        read_only_fields = (
            "number",
            "service_record",
            "current_node",
            "status",
            "assignee",
            "department",
            "deadline",
            "created_by",
            "created_at",
            "closed_at",
        )


class EscalateSerializer(serializers.Serializer):
    """Escalate a service record: the record, the workflow, optional title and priority."""

    service_record = serializers.IntegerField()
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.filter(active=True))
    title = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    query_password = serializers.CharField(required=False, min_length=4, max_length=32)


class AdvanceSerializer(serializers.Serializer):
    """Which transition to take, with a comment (internal ones are hidden from customers)."""

    transition = serializers.PrimaryKeyRelatedField(queryset=WorkflowTransition.objects.all())
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    internal = serializers.BooleanField(required=False, default=False)


class CancelSerializer(serializers.Serializer):
    comment = serializers.CharField()


class WorkOrderStepSerializer(serializers.ModelSerializer):
    from_node_name = serializers.CharField(source="from_node.name", read_only=True, default="")
    to_node_name = serializers.CharField(source="to_node.name", read_only=True)
    actor_name = serializers.CharField(source="actor.username", read_only=True, default="")

    class Meta:
        model = WorkOrderStep
        fields = (
            "id",
            "from_node",
            "from_node_name",
            "to_node",
            "to_node_name",
            "transition",
            "status",
            "actor",
            "actor_name",
            "comment",
            "is_internal",
            "created_at",
        )


class WorkOrderAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkOrderAttachment
        fields = (
            "id",
            "file",
            "original_name",
            "content_type",
            "size",
            "uploaded_by",
            "uploaded_at",
        )
        read_only_fields = ("original_name", "content_type", "size", "uploaded_by", "uploaded_at")


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ("id", "text", "link", "work_order", "read", "created_at")
        read_only_fields = fields


class SelfQuerySerializer(serializers.Serializer):
    number = serializers.CharField(max_length=20)
    password = serializers.CharField(max_length=32)
