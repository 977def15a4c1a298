"""Admin screens: flows with their versions, notices, voicemail, the 12329 demo data."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ivr import models as m
from ivr import services


class FlowVersionInline(admin.TabularInline):
    model = m.FlowVersion
    extra = 0
    fields = ("number", "source", "checksum", "created_by", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(m.Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "live_version")
    search_fields = ("code", "name")
    inlines = [FlowVersionInline]

    @admin.display(description=_("live version"))
    def live_version(self, flow: m.Flow) -> int | None:
        version = flow.current_version
        return version.number if version else None


class FlowVersionForm(forms.ModelForm):
    class Meta:
        model = m.FlowVersion
        fields = ("flow", "definition")


@admin.register(m.FlowVersion)
class FlowVersionAdmin(admin.ModelAdmin):
    """New versions are saved through the service, which numbers and validates them."""

    form = FlowVersionForm
    list_display = ("flow", "number", "source", "created_by", "created_at")
    list_filter = ("source", "flow")
    readonly_fields = ("checksum",)

    def get_readonly_fields(self, request, obj=None):
        # Versions are immutable: an edit is a new version.
        return ("flow", "number", "definition", "checksum", "source") if obj else ("checksum",)

    def save_model(self, request, obj, form, change) -> None:
        definition = (
            obj.definition if isinstance(obj.definition, dict) else json.loads(obj.definition)
        )
        version, _created = services.save_flow_version(definition, user=request.user)
        obj.pk = version.pk
        obj.number = version.number


@admin.register(m.EmergencyNotice)
class EmergencyNoticeAdmin(admin.ModelAdmin):
    list_display = ("text", "language", "starts_at", "ends_at", "audio_path")
    list_filter = ("language",)
    filter_horizontal = ("flows",)
    readonly_fields = ("audio_path", "created_by")

    def save_model(self, request, obj, form, change) -> None:
        obj.created_by = obj.created_by or request.user
        obj.audio_path = services.synthesize_notice(obj)
        super().save_model(request, obj, form, change)


class VoicemailNotificationInline(admin.TabularInline):
    model = m.VoicemailNotification
    extra = 0
    readonly_fields = ("user", "created_at", "read_at")


@admin.register(m.VoicemailMessage)
class VoicemailMessageAdmin(admin.ModelAdmin):
    list_display = ("left_at", "caller", "group", "duration_seconds", "status")
    list_filter = ("status", "group")
    search_fields = ("caller", "call_uuid")
    readonly_fields = ("call_uuid", "caller", "recording_path", "duration_seconds", "left_at")
    inlines = [VoicemailNotificationInline]


class HousingLoanInline(admin.TabularInline):
    model = m.HousingLoan
    extra = 0


@admin.register(m.HousingFundAccount)
class HousingFundAccountAdmin(admin.ModelAdmin):
    list_display = ("id_number", "name", "balance", "updated_at")
    search_fields = ("id_number", "name")
    exclude = ("query_password",)
    inlines = [HousingLoanInline]
