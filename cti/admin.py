"""Read-only admin screens for durable history: only the persister writes these tables."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from cti import models as m


class HistoryAdmin(admin.ModelAdmin):
    """History is written by the persister alone; the admin may look but never touch."""

    list_per_page = 50
    show_full_result_count = False  # counting millions of CDR rows on every page is slow

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(m.CallRecord)
class CallRecordAdmin(HistoryAdmin):
    list_display = (
        "started_at", "direction", "caller", "callee", "queue", "agent_id", "talk_seconds",
        "hangup_cause",
    )  # fmt: skip
    list_filter = ("direction", "queue", "hangup_cause")
    search_fields = ("call_uuid", "caller", "callee", "did")
    date_hierarchy = "started_at"


@admin.register(m.CallLeg)
class CallLegAdmin(HistoryAdmin):
    list_display = ("started_at", "party", "number", "agent_id", "duration_seconds", "hangup_cause")
    list_filter = ("party",)
    search_fields = ("leg_uuid", "call_uuid", "number")
    date_hierarchy = "started_at"


@admin.register(m.AgentStateChange)
class AgentStateChangeAdmin(HistoryAdmin):
    list_display = (
        "changed_at",
        "agent_id",
        "old_state",
        "new_state",
        "reason",
        "old_state_seconds",
    )
    list_filter = ("new_state", "reason")
    search_fields = ("=agent_id", "call_uuid")
    date_hierarchy = "changed_at"


@admin.register(m.QueueEntry)
class QueueEntryAdmin(HistoryAdmin):
    list_display = (
        "entered_at", "queue", "call_uuid", "entry_position", "outcome", "wait_seconds", "agent_id",
    )  # fmt: skip
    list_filter = ("outcome", "queue")
    search_fields = ("call_uuid",)
    date_hierarchy = "entered_at"


@admin.register(m.Recording)
class RecordingAdmin(HistoryAdmin):
    list_display = ("saved_at", "call_uuid", "path", "duration_seconds", "channels", "agent_id")
    list_filter = ("channels",)
    search_fields = ("call_uuid", "path")
    date_hierarchy = "saved_at"


@admin.register(m.SurveyScore)
class SurveyScoreAdmin(HistoryAdmin):
    list_display = ("scored_at", "call_uuid", "score", "agent_id", "queue")
    list_filter = ("score", "queue")
    search_fields = ("call_uuid",)
    date_hierarchy = "scored_at"


@admin.register(m.IvrPath)
class IvrPathAdmin(HistoryAdmin):
    list_display = ("finished_at", "flow", "call_uuid", "exit")
    list_filter = ("flow",)
    search_fields = ("call_uuid",)
    date_hierarchy = "finished_at"


@admin.register(m.SupervisorAction)
class SupervisorActionAdmin(HistoryAdmin):
    list_display = ("acted_at", "supervisor_id", "action", "target_agent_id", "result")
    list_filter = ("action", "result")
    search_fields = ("target_call_uuid", "=supervisor_id", "=target_agent_id")
    date_hierarchy = "acted_at"


@admin.register(m.Voicemail)
class VoicemailAdmin(HistoryAdmin):
    list_display = ("left_at", "caller", "group_id", "duration_seconds", "path")
    list_filter = ("group_id",)
    search_fields = ("call_uuid", "caller")
    date_hierarchy = "left_at"
