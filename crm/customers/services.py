"""State changes and lookups of customers: check, do in a transaction, notify on commit.

`find_customer_by_phone` is the hot path: the screen pop and the CTI daemon call it for every
ringing call. It normalizes the number to E.164 in Python and runs ONE query that uses the
unique index on CustomerPhone.number.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.customers.choices import FieldType
from crm.customers.models import CodeTableEntry, Customer, CustomerPhone, CustomFieldDefinition

EVENTS_CHANNEL = "crm.events"
# Longer texts belong in notes; custom text fields are short attributes.
MAX_TEXT_LENGTH = 1000


# --- phone numbers -------------------------------------------------------------------------


def normalize_phone(raw_number: str, region: str | None = None) -> str:
    """Return `raw_number` in E.164 ("+8613800138000") or raise ValidationError(code="phone").

    Accepts what caller IDs and people type: "13800138000", "+86 138-0013-8000",
    "008613800138000", "8613800138000", "010 6234 5678", and a local landline without its area
    code ("62345678") which gets settings.CENTER_AREA_CODE.
    """
    region = region or settings.CENTER_COUNTRY
    text = str(raw_number or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        raise ValidationError(_("Enter a phone number."), code="phone")
    candidates = [text]
    if not text.startswith("+"):
        # A caller ID often carries the country code without "+" (e.g. "8613800138000").
        candidates.append("+" + digits)
        area_code = getattr(settings, "CENTER_AREA_CODE", "")
        if area_code and len(digits) in (7, 8):
            candidates.append(area_code + digits)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise ValidationError(
        _("%(number)s is not a valid phone number.") % {"number": text}, code="phone"
    )


def find_customer_by_phone(raw_number: str) -> Customer | None:
    """The customer owning `raw_number` in any written form, or None. One indexed query.

    Unparseable numbers (anonymous callers, "unknown") return None without a query.
    """
    try:
        number = normalize_phone(raw_number)
    except ValidationError:
        return None
    return Customer.objects.filter(phones__number=number).select_related("owner").first()


# --- custom fields -------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def _clean_value(definition: CustomFieldDefinition, value: Any, codes: set[str]) -> Any:
    """Return the stored (JSON) form of one value or raise ValidationError with a message."""
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, (str, int, float, Decimal)) or isinstance(value, bool):
            raise ValidationError(_("Enter a text."))
        text = str(value).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise ValidationError(_("At most %(limit)d characters.") % {"limit": MAX_TEXT_LENGTH})
        return text
    if kind == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValidationError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == FieldType.DATE:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from None
    if kind == FieldType.CHOICE:
        if str(value) not in definition.choices:
            raise ValidationError(
                _("%(value)s is not one of the choices.") % {"value": value}, code="choice"
            )
        return str(value)
    if kind == FieldType.MULTI_CHOICE:
        if not isinstance(value, (list, tuple)):
            raise ValidationError(_("Enter a list of choices."))
        bad = [str(item) for item in value if str(item) not in definition.choices]
        if bad:
            raise ValidationError(
                _("%(value)s is not one of the choices.") % {"value": ", ".join(bad)},
                code="choice",
            )
        chosen = {str(item) for item in value}
        # Stored in the definition's order so equal selections compare equal.
        return [choice for choice in definition.choices if choice in chosen]
    if kind == FieldType.CODE_TABLE:
        if str(value) not in codes:
            raise ValidationError(
                _("%(value)s is not a code of this table.") % {"value": value}, code="choice"
            )
        return str(value)
    if kind == FieldType.PHONE:
        return normalize_phone(str(value))
    raise ValidationError(_("Unknown field type."))


class FieldDefinitions:
    """The custom field definitions and their code-table codes, loaded once per validation run.

    An import validates thousands of rows; building this once keeps it to two queries.
    """

    def __init__(self, definitions: Iterable[CustomFieldDefinition] | None = None) -> None:
        if definitions is None:
            definitions = CustomFieldDefinition.objects.select_related("code_table")
        self.by_key = {definition.key: definition for definition in definitions}
        table_ids = {d.code_table_id for d in self.by_key.values() if d.code_table_id}
        self.codes: dict[int, set[str]] = {table_id: set() for table_id in table_ids}
        for table_id, code in CodeTableEntry.objects.filter(
            table_id__in=table_ids, active=True
        ).values_list("table_id", "code"):
            self.codes[table_id].add(code)

    def clean(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate `values` against the definitions; return the stored form.

        Raises ValidationError whose error_dict maps each bad key to its messages: unknown
        keys, missing required values, wrong types, values outside the choices.
        Empty optional values are dropped.
        """
        values = dict(values or {})
        errors: dict[str, list[str]] = {}
        cleaned: dict[str, Any] = {}
        for key in values:
            if key not in self.by_key:
                errors[key] = [_("Unknown custom field.")]
        for key, definition in self.by_key.items():
            value = values.get(key)
            if _is_empty(value):
                if definition.required:
                    errors[key] = [_("This field is required.")]
                continue
            try:
                cleaned[key] = _clean_value(
                    definition, value, self.codes.get(definition.code_table_id or 0, set())
                )
            except ValidationError as exc:
                errors[key] = list(exc.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned


def validate_custom_fields(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate custom field values against the current definitions (see FieldDefinitions)."""
    return FieldDefinitions().clean(values)


# --- customers -----------------------------------------------------------------------------

CUSTOMER_FIELDS = ("name", "vip_level", "owner", "region", "address", "notes")


def _clean_phones(numbers: Sequence[str], customer: Customer | None) -> list[str]:
    cleaned: list[str] = []
    errors: list[str] = []
    for raw in numbers:
        if _is_empty(raw):
            continue
        try:
            number = normalize_phone(raw)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if number not in cleaned:
            cleaned.append(number)
    taken = CustomerPhone.objects.filter(number__in=cleaned)
    if customer is not None and customer.pk:
        taken = taken.exclude(customer=customer)
    for number in taken.values_list("number", flat=True):
        errors.append(_("%(number)s belongs to another customer.") % {"number": number})
    if errors:
        raise ValidationError({"phones": errors})
    return cleaned


def _check_customer(customer: Customer) -> None:
    try:
        customer.full_clean(exclude=["custom_fields"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


CUSTOM_FIELD_ERROR_PREFIX = "custom_fields."


def _custom_field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Custom field errors keyed "custom_fields.<key>" (ValidationError cannot nest dicts)."""
    return {CUSTOM_FIELD_ERROR_PREFIX + key: value for key, value in exc.message_dict.items()}


def _publish(event: dict[str, Any]) -> None:
    from config.redis import get_redis

    get_redis().publish(EVENTS_CHANNEL, json.dumps(event, ensure_ascii=False))


def create_customer(
    *,
    name: str,
    phones: Sequence[str] = (),
    custom_fields: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Customer:
    """Create a customer with its phone numbers (any form, stored as E.164) and custom fields.

    Raises ValidationError with per-field errors; custom fields as "custom_fields.<key>".
    """
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    customer = Customer(name=name, **fields)
    errors: dict[str, Any] = {}
    try:
        _check_customer(customer)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        customer.custom_fields = validate_custom_fields(custom_fields)
    except ValidationError as exc:
        errors.update(_custom_field_errors(exc))
    try:
        numbers = _clean_phones(phones, None)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        customer.save()
        CustomerPhone.objects.bulk_create(
            CustomerPhone(customer=customer, number=number, is_primary=index == 0)
            for index, number in enumerate(numbers)
        )
        transaction.on_commit(
            lambda: _publish({"type": "customer.created", "customer_id": customer.pk})
        )
    return customer


def update_customer(
    customer: Customer,
    *,
    phones: Sequence[str] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Customer:
    """Change a customer's attributes; `phones` (if given) replaces the numbers, `custom_fields`
    (if given) replaces the values (validated as a whole against the definitions)."""
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(customer, name, value)
    errors: dict[str, Any] = {}
    try:
        _check_customer(customer)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if custom_fields is not None:
        try:
            customer.custom_fields = validate_custom_fields(custom_fields)
        except ValidationError as exc:
            errors.update(_custom_field_errors(exc))
    numbers: list[str] | None = None
    if phones is not None:
        try:
            numbers = _clean_phones(phones, customer)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        customer.save()
        if numbers is not None:
            customer.phones.exclude(number__in=numbers).delete()
            existing = set(customer.phones.values_list("number", flat=True))
            CustomerPhone.objects.bulk_create(
                CustomerPhone(customer=customer, number=number)
                for number in numbers
                if number not in existing
            )
            customer.phones.update(is_primary=False)
            if numbers:
                customer.phones.filter(number=numbers[0]).update(is_primary=True)
        transaction.on_commit(
            lambda: _publish({"type": "customer.updated", "customer_id": customer.pk})
        )
    return customer


def screen_pop_fields(customer: Customer) -> list[tuple[str, Any]]:
    """(label, value) of the custom fields flagged show_in_screen_pop, in definition order."""
    definitions = CustomFieldDefinition.objects.filter(show_in_screen_pop=True)
    return [
        (definition.display_label, customer.custom_fields[definition.key])
        for definition in definitions
        if definition.key in customer.custom_fields
    ]
