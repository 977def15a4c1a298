"""Admin screens: custom field definitions and code tables (admin-only), customers, jobs."""

from django.contrib import admin

from crm.customers import models as m


class CodeTableEntryInline(admin.TabularInline):
    model = m.CodeTableEntry
    extra = 1


@admin.register(m.CodeTable)
class CodeTableAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "name_en")
    inlines = (CodeTableEntryInline,)


@admin.register(m.CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "label",
        "label_en",
        "field_type",
        "required",
        "show_in_screen_pop",
        "order",
    )
    list_filter = ("field_type", "required", "show_in_screen_pop")
    list_editable = ("order",)
    search_fields = ("key", "label", "label_en")


class CustomerPhoneInline(admin.TabularInline):
    model = m.CustomerPhone
    extra = 1


@admin.register(m.Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "vip_level", "owner", "region", "created_at")
    list_filter = ("vip_level",)
    search_fields = ("name", "phones__number", "region")
    list_select_related = ("owner",)
    inlines = (CustomerPhoneInline,)


@admin.register(m.SpreadsheetJob)
class SpreadsheetJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "processed_rows",
        "total_rows",
        "created_by",
        "created_at",
    )
    list_filter = ("kind", "status")
    readonly_fields = [field.name for field in m.SpreadsheetJob._meta.fields]
