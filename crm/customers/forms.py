"""Forms of the customer pages."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ImportUploadForm(forms.Form):
    """The .xlsx to import; the first row holds the column headers."""

    file = forms.FileField(label=_("Excel file (.xlsx)"))
