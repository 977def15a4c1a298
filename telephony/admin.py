"""Admin screens for the telephony configuration."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from telephony import models as m


class AgentSkillInline(admin.TabularInline):
    model = m.AgentSkill
    extra = 0
    autocomplete_fields = ("skill",)


class MembershipInline(admin.TabularInline):
    model = m.GroupMembership
    extra = 0
    autocomplete_fields = ("agent",)


class AgentMembershipInline(admin.TabularInline):
    model = m.GroupMembership
    extra = 0
    autocomplete_fields = ("group",)
    verbose_name = _("group membership")


@admin.register(m.Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(m.Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("employee_number", "name", "extension", "user", "enabled", "wrap_up_seconds")
    list_filter = ("enabled", "agent_groups")
    search_fields = ("employee_number", "name", "extension", "user__username")
    autocomplete_fields = ("user",)
    inlines = (AgentSkillInline, AgentMembershipInline)


@admin.register(m.AgentGroup)
class AgentGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    search_fields = ("name",)
    filter_horizontal = ("supervisors",)
    inlines = (MembershipInline,)


class QueueSkillInline(admin.TabularInline):
    model = m.QueueSkill
    extra = 0
    autocomplete_fields = ("skill",)


@admin.register(m.Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group", "strategy", "priority", "max_wait_seconds")
    list_filter = ("strategy", "overflow_kind")
    search_fields = ("code", "name")
    autocomplete_fields = ("group", "overflow_queue")
    inlines = (QueueSkillInline,)
    fieldsets = (
        (None, {"fields": ("code", "name", "group", "strategy", "priority")}),
        (
            _("Caller experience"),
            {
                "fields": (
                    "music_on_hold",
                    "greeting_prompt",
                    "announce_position",
                    "announce_wait_time",
                    "announce_interval_seconds",
                    "announce_employee_number",
                    "leave_message_key",
                    "callback_key",
                )
            },
        ),
        (
            _("Offers and overflow"),
            {
                "fields": (
                    "ring_timeout_seconds",
                    "max_wait_seconds",
                    "no_agent_rule",
                    "overflow_kind",
                    "overflow_queue",
                    "overflow_target",
                    "service_level_seconds",
                )
            },
        ),
        (
            _("Routing"),
            {
                "fields": (
                    "vip_priority_boost",
                    "long_distance_priority_boost",
                    "route_to_owner_agent",
                    "last_agent_lookback_days",
                )
            },
        ),
    )


class BusinessHoursInline(admin.TabularInline):
    model = m.BusinessHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = m.Holiday
    extra = 0


class CalendarExceptionInline(admin.TabularInline):
    model = m.CalendarException
    extra = 0


@admin.register(m.BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    inlines = (BusinessHoursInline, HolidayInline, CalendarExceptionInline)


@admin.register(m.DID)
class DIDAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "flow", "language", "calendar", "enabled")
    list_filter = ("language", "enabled")
    search_fields = ("number", "name", "flow")


@admin.register(m.BlacklistEntry)
class BlacklistEntryAdmin(admin.ModelAdmin):
    list_display = (
        "pattern",
        "match",
        "direction",
        "category",
        "action",
        "reason",
        "expires_at",
        "created_by",
    )
    list_filter = ("category", "direction", "match")
    search_fields = ("pattern", "reason")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(m.BusyReason)
class BusyReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "order", "enabled", "system")
    list_editable = ("order", "enabled")
    search_fields = ("code", "name")
