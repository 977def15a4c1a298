"""Forms of the desk: a new customer from the screen pop, a service record at wrap-up."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import VipLevel
from crm.records.models import ServiceCategory, ServiceStatus


class NewCustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(label=_("Phone number"), max_length=40)
    vip_level = forms.ChoiceField(label=_("VIP level"), choices=VipLevel.choices)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class ServiceRecordForm(forms.Form):
    call_uuid = forms.CharField(required=False, widget=forms.HiddenInput)
    caller_number = forms.CharField(label=_("Caller number"), max_length=32, required=False)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=ServiceCategory.objects.filter(level=3, active=True),
        error_messages={"required": _("Choose a category of the third level.")},
    )
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ModelChoiceField(
        label=_("Status"), queryset=ServiceStatus.objects.all(), required=False
    )
    follow_up_date = forms.DateField(
        label=_("Follow-up date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
