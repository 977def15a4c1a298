"""Forms of the work order pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.customers.filtersets import CustomerFilterSet
from crm.customers.models import Customer
from crm.knowledge.validators import AttachmentValidator
from crm.workorders.choices import Priority
from crm.workorders.models import Workflow

# How many customers a name or phone search offers; more means the search is too vague.
CUSTOMER_MATCHES = 20
QUERY_PASSWORD_MIN = 4
QUERY_PASSWORD_MAX = 32
ATTACHMENTS_PER_ORDER = 10


class SelfQueryForm(forms.Form):
    """The public self-query: order number and the password given when it was opened."""

    number = forms.CharField(label=_("work order number"), max_length=20)
    password = forms.CharField(label=_("query password"), max_length=32, widget=forms.PasswordInput)


class AdvanceForm(forms.Form):
    """A handler's comment when taking a step; internal comments stay in the back office."""

    comment = forms.CharField(
        label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    internal = forms.BooleanField(label=_("internal comment"), required=False)


class CancelForm(forms.Form):
    """Why an order is cancelled; the customer sees this comment in the self-query."""

    comment = forms.CharField(
        label=_("reason for cancelling"), widget=forms.Textarea(attrs={"rows": 2})
    )


class AttachmentForm(forms.Form):
    """One file added to an existing order."""

    file = forms.FileField(label=_("file"), validators=[AttachmentValidator()])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files from one input, each checked by the field's validators."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        if not data:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        files = data if isinstance(data, list | tuple) else [data]
        errors: list[ValidationError] = []
        cleaned = []
        for file in files:
            try:
                cleaned.append(super().clean(file, initial))
            except ValidationError as error:
                # Name the file: with several uploads "type not accepted" alone is ambiguous.
                errors.extend(
                    ValidationError(f"{file.name}: {message}") for message in error.messages
                )
        if errors:
            raise ValidationError(errors)
        return cleaned


class CustomerChoiceField(forms.ModelChoiceField):
    """A customer shown with their phone numbers: two customers may share a name."""

    def label_from_instance(self, obj: Customer) -> str:
        numbers = ", ".join(phone.number for phone in obj.phones.all())
        return f"{obj.name} ({numbers})" if numbers else obj.name


class _OrderFieldsMixin(forms.Form):
    """Workflow, priority and the optional query password shared by creation and escalation."""

    workflow = forms.ModelChoiceField(
        label=_("workflow"), queryset=Workflow.objects.filter(active=True)
    )
    priority = forms.ChoiceField(
        label=_("priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    query_password = forms.CharField(
        label=_("query password"),
        required=False,
        min_length=QUERY_PASSWORD_MIN,
        max_length=QUERY_PASSWORD_MAX,
        strip=True,
        help_text=_("Leave empty to generate six random digits."),
    )


class WorkOrderCreateForm(_OrderFieldsMixin):
    """A new work order typed in the back office.

    The customer is chosen among the matches of `customer_search` (name or phone number);
    the page submits the form with the "search" button to refresh those matches, so the
    other fields keep their values without any JavaScript.
    """

    title = forms.CharField(label=_("title"), max_length=200)
    description = forms.CharField(
        label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    customer_search = forms.CharField(
        label=_("find a customer by name or phone number"), required=False, max_length=100
    )
    customer = CustomerChoiceField(
        label=_("customer"),
        queryset=Customer.objects.none(),
        required=False,
        empty_label=_("(no customer)"),
    )
    attachments = MultipleFileField(
        label=_("attachments"), required=False, validators=[AttachmentValidator()]
    )

    field_order = (
        "title",
        "description",
        "workflow",
        "priority",
        "customer_search",
        "customer",
        "query_password",
        "attachments",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        search = (self._raw("customer_search") or "").strip()
        selected = self._raw("customer")
        self.customer_matches = self._search_customers(search) if search else []
        wanted = Q(pk__in=[customer.pk for customer in self.customer_matches])
        if selected and str(selected).isdigit():
            # The customer chosen earlier stays valid after a new search.
            wanted |= Q(pk=int(selected))
        self.fields["customer"].queryset = (
            Customer.objects.filter(wanted).prefetch_related("phones").order_by("name", "pk")
        )
        self.searched = bool(search)

    def _raw(self, name: str):
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    @staticmethod
    def _search_customers(search: str) -> list[Customer]:
        filterset = CustomerFilterSet({"q": search}, queryset=Customer.objects.all())
        return list(filterset.qs.order_by("name", "pk")[:CUSTOMER_MATCHES])

    def clean_attachments(self) -> list:
        files = self.cleaned_data["attachments"]
        if len(files) > ATTACHMENTS_PER_ORDER:
            raise ValidationError(
                _("At most %(count)d files at once."), params={"count": ATTACHMENTS_PER_ORDER}
            )
        return files


class EscalateForm(_OrderFieldsMixin):
    """Escalate a service record from its page; the title starts as the record's category."""

    title = forms.CharField(label=_("title"), max_length=200)
    description = forms.CharField(
        label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    field_order = ("title", "workflow", "priority", "description", "query_password")

    @classmethod
    def for_record(cls, record) -> EscalateForm:
        """An unbound form prefilled from the record."""
        return cls(
            initial={
                "title": record.category.name,
                "description": record.description,
                "priority": Priority.NORMAL,
            },
            prefix="escalate",
        )
