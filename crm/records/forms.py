"""Forms of the service record pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.records.models import ServiceStatus


class FollowUpForm(forms.Form):
    """A follow-up note, optionally moving the record to another status."""

    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ModelChoiceField(
        label=_("New status"), queryset=ServiceStatus.objects.all(), required=False
    )
    follow_up_date = forms.DateField(
        label=_("Next follow-up date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
