"""Validators for numbers and patterns entered by administrators."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PHONE_NUMBER_RE = re.compile(r"^\+?[0-9]{3,20}$")
NUMBER_PREFIX_RE = re.compile(r"^\+?[0-9]{1,20}$")
EXTENSION_RE = re.compile(r"^[0-9]{2,10}$")


def validate_phone_number(value: str) -> None:
    """A dialable number: digits, optionally a leading +, 3 to 20 digits."""
    if not PHONE_NUMBER_RE.match(value or ""):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number: use 3 to 20 digits, optionally after +."),
            code="invalid_phone_number",
            params={"value": value},
        )


def validate_number_prefix(value: str) -> None:
    if not NUMBER_PREFIX_RE.match(value or ""):
        raise ValidationError(
            _("“%(value)s” is not a valid number prefix: use 1 to 20 digits, optionally after +."),
            code="invalid_number_prefix",
            params={"value": value},
        )


def validate_extension(value: str) -> None:
    if not EXTENSION_RE.match(value or ""):
        raise ValidationError(
            _("“%(value)s” is not a valid extension: use 2 to 10 digits."),
            code="invalid_extension",
            params={"value": value},
        )
