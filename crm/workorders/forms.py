"""Forms of the work order pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SelfQueryForm(forms.Form):
    """The public self-query: order number and the password given when it was opened."""

    number = forms.CharField(label=_("work order number"), max_length=20)
    password = forms.CharField(label=_("query password"), max_length=32, widget=forms.PasswordInput)


class AdvanceForm(forms.Form):
    """A handler's comment when taking a step; internal comments stay in the back office."""

    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea)
    internal = forms.BooleanField(label=_("internal comment"), required=False)
