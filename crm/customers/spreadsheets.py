"""Excel import and export of customers (openpyxl).

Import is all-or-nothing: every row is validated first; one bad row and nothing is written, and
the errors (row number, column, message) are returned and can be downloaded as a workbook.
Export writes any filtered queryset. Both report progress through a callback so the Celery
tasks can store it on the SpreadsheetJob the page polls.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook, load_workbook

from crm.customers.choices import FieldType, VipLevel
from crm.customers.models import Customer, CustomerPhone
from crm.customers.services import FieldDefinitions, normalize_phone
from telephony.models import Agent

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 200

# (attribute, Chinese/English header labels). Imports also accept the attribute name itself.
STANDARD_COLUMNS: list[tuple[str, Any]] = [
    ("name", pgettext_lazy("spreadsheet column", "Name")),
    ("phones", pgettext_lazy("spreadsheet column", "Phone numbers")),
    ("vip_level", pgettext_lazy("spreadsheet column", "VIP level")),
    ("owner", pgettext_lazy("spreadsheet column", "Owner agent number")),
    ("region", pgettext_lazy("spreadsheet column", "Region")),
    ("address", pgettext_lazy("spreadsheet column", "Address")),
    ("notes", pgettext_lazy("spreadsheet column", "Notes")),
]
PHONE_SEPARATORS = re.compile(r"[,;，；/\n]+")


@dataclass(frozen=True)
class RowError:
    """A problem with one cell (or row): the Excel row number, the column header, a message."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class ImportPreview:
    """The first rows of an upload as read, with their errors, before anything is imported."""

    headers: list[str]
    ignored_columns: list[str]
    rows: list[tuple[int, list[Any], list[RowError]]]
    total_rows: int
    missing_columns: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did: `imported` rows, or none at all and the `errors`."""

    imported: int
    total_rows: int
    errors: list[RowError]


def _labels(attribute: str, label: Any) -> set[str]:
    from django.utils import translation

    names = {attribute.lower()}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            names.add(str(label).strip().lower())
    return names


class CustomerSheetReader:
    """Maps the header row to customer attributes and custom fields; validates rows."""

    def __init__(self, definitions: FieldDefinitions | None = None) -> None:
        self.definitions = definitions or FieldDefinitions()
        self.column_names: dict[str, tuple[str, str]] = {}
        for attribute, label in STANDARD_COLUMNS:
            for name in _labels(attribute, label):
                self.column_names[name] = ("standard", attribute)
        for key, definition in self.definitions.by_key.items():
            for name in {key, definition.label, definition.label_en}:
                if name:
                    self.column_names[name.strip().lower()] = ("custom", key)
        self.owners = dict(Agent.objects.values_list("employee_number", "pk"))
        self.vip_levels = {}
        for value, label in VipLevel.choices:
            for name in _labels(value, label):
                self.vip_levels[name] = value

    def map_header(self, header: Iterable[Any]) -> tuple[list[tuple[str, str] | None], list[str]]:
        """The target of each column (None when ignored) and the ignored headers."""
        mapping: list[tuple[str, str] | None] = []
        ignored = []
        for cell in header:
            name = str(cell).strip() if cell is not None else ""
            target = self.column_names.get(name.lower()) if name else None
            mapping.append(target)
            if name and target is None:
                ignored.append(name)
        return mapping, ignored

    def missing_columns(self, mapping: list[tuple[str, str] | None]) -> list[str]:
        present = {target for target in mapping if target}
        missing = []
        if ("standard", "name") not in present:
            missing.append(str(STANDARD_COLUMNS[0][1]))
        for key, definition in self.definitions.by_key.items():
            if definition.required and ("custom", key) not in present:
                missing.append(definition.display_label)
        return missing

    def header_label(self, target: tuple[str, str]) -> str:
        kind, name = target
        if kind == "custom":
            return self.definitions.by_key[name].display_label
        return str(dict(STANDARD_COLUMNS)[name])

    def parse_row(
        self, row_number: int, mapping: list[tuple[str, str] | None], cells: tuple[Any, ...]
    ) -> tuple[dict[str, Any], list[RowError]]:
        """Turn one Excel row into create_customer arguments, or the row's errors."""
        standard: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for target, cell in zip(mapping, cells):
            if target is None:
                continue
            kind, name = target
            value = cell.strip() if isinstance(cell, str) else cell
            if kind == "standard":
                standard[name] = value
            else:
                definition = self.definitions.by_key[name]
                if definition.field_type == FieldType.MULTI_CHOICE and isinstance(value, str):
                    value = [part.strip() for part in re.split(r"[,，;；]", value) if part.strip()]
                elif definition.field_type in (FieldType.TEXT, FieldType.PHONE, FieldType.CHOICE):
                    value = _cell_text(value)
                custom[name] = value
        errors: list[RowError] = []

        def error(attribute: str, message: str) -> None:
            errors.append(RowError(row_number, self.header_label(("standard", attribute)), message))

        values: dict[str, Any] = {}
        name = _cell_text(standard.get("name"))
        if not name:
            error("name", _("This field is required."))
        values["name"] = name
        values["phones"] = []
        for raw in PHONE_SEPARATORS.split(_cell_text(standard.get("phones"))):
            if not raw.strip():
                continue
            try:
                values["phones"].append(normalize_phone(raw))
            except ValidationError as exc:
                error("phones", exc.messages[0])
        vip = _cell_text(standard.get("vip_level"))
        if vip:
            if vip.lower() not in self.vip_levels:
                error("vip_level", _("%(value)s is not a VIP level.") % {"value": vip})
            else:
                values["vip_level"] = self.vip_levels[vip.lower()]
        owner = _cell_text(standard.get("owner"))
        if owner:
            if owner not in self.owners:
                error("owner", _("No agent has number %(value)s.") % {"value": owner})
            else:
                values["owner_id"] = self.owners[owner]
        for attribute in ("region", "address", "notes"):
            values[attribute] = _cell_text(standard.get(attribute))
        try:
            values["custom_fields"] = self.definitions.clean(custom)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                label = (
                    self.header_label(("custom", key)) if key in self.definitions.by_key else key
                )
                errors.extend(RowError(row_number, label, message) for message in messages)
        return values, errors


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores typed-in phone numbers and codes as floats.
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def _open_rows(source: IO[bytes]) -> tuple[list[Any], Iterator[tuple[int, tuple[Any, ...]]], int]:
    workbook = load_workbook(source, read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows, ()) or ())
    total = max(0, (sheet.max_row or 1) - 1)

    def numbered() -> Iterator[tuple[int, tuple[Any, ...]]]:
        for offset, cells in enumerate(rows, start=2):
            if cells and any(cell not in (None, "") for cell in cells):
                yield offset, cells

    return header, numbered(), total


def preview_customer_import(source: IO[bytes], limit: int = 20) -> ImportPreview:
    """The header mapping and the first `limit` data rows with their errors."""
    reader = CustomerSheetReader()
    header, rows, total = _open_rows(source)
    mapping, ignored = reader.map_header(header)
    preview_rows = []
    for row_number, cells in rows:
        if len(preview_rows) >= limit:
            break
        _values, errors = reader.parse_row(row_number, mapping, cells)
        preview_rows.append((row_number, list(cells), errors))
    return ImportPreview(
        headers=[str(cell) if cell is not None else "" for cell in header],
        ignored_columns=ignored,
        rows=preview_rows,
        total_rows=total,
        missing_columns=reader.missing_columns(mapping),
    )


def import_customers(source: IO[bytes], progress: Progress | None = None) -> ImportResult:
    """Validate every row, then create all customers in one transaction, or none.

    Duplicate numbers inside the file or already owned by a customer are row errors.
    `progress(done, total)` is called while validating.
    """
    reader = CustomerSheetReader()
    header, rows, total = _open_rows(source)
    mapping, _ignored = reader.map_header(header)
    missing = reader.missing_columns(mapping)
    if missing:
        errors = [RowError(1, name, _("This column is missing.")) for name in missing]
        return ImportResult(imported=0, total_rows=total, errors=errors)
    parsed: list[tuple[int, dict[str, Any]]] = []
    errors = []
    first_row_of_number: dict[str, int] = {}
    done = 0
    phone_label = reader.header_label(("standard", "phones"))
    for row_number, cells in rows:
        values, row_errors = reader.parse_row(row_number, mapping, cells)
        for number in values["phones"]:
            if number in first_row_of_number:
                row_errors.append(
                    RowError(
                        row_number,
                        phone_label,
                        _("%(number)s is already in row %(row)d.")
                        % {"number": number, "row": first_row_of_number[number]},
                    )
                )
            else:
                first_row_of_number[number] = row_number
        errors.extend(row_errors)
        parsed.append((row_number, values))
        done += 1
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, max(total, done))
    total = done
    taken = _numbers_in_database(list(first_row_of_number))
    for number in sorted(taken, key=first_row_of_number.__getitem__):
        errors.append(
            RowError(
                first_row_of_number[number],
                phone_label,
                _("%(number)s belongs to another customer.") % {"number": number},
            )
        )
    if errors:
        errors.sort(key=lambda item: item.row)
        return ImportResult(imported=0, total_rows=total, errors=errors)
    try:
        _create_all(parsed)
    except IntegrityError:
        # A number was taken between validation and the insert: still nothing imported.
        return ImportResult(
            imported=0,
            total_rows=total,
            errors=[RowError(0, phone_label, _("A number was taken meanwhile; try again."))],
        )
    if progress:
        progress(total, total)
    return ImportResult(imported=len(parsed), total_rows=total, errors=[])


def _numbers_in_database(numbers: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(numbers), 5000):
        chunk = numbers[start : start + 5000]
        taken.update(
            CustomerPhone.objects.filter(number__in=chunk).values_list("number", flat=True)
        )
    return taken


@transaction.atomic
def _create_all(parsed: list[tuple[int, dict[str, Any]]]) -> None:
    customers = [
        Customer(
            name=values["name"],
            vip_level=values.get("vip_level", VipLevel.REGULAR),
            owner_id=values.get("owner_id"),
            region=values["region"],
            address=values["address"],
            notes=values["notes"],
            custom_fields=values["custom_fields"],
        )
        for _row, values in parsed
    ]
    Customer.objects.bulk_create(customers, batch_size=1000)
    phones = [
        CustomerPhone(customer=customer, number=number, is_primary=index == 0)
        for customer, (_row, values) in zip(customers, parsed)
        for index, number in enumerate(values["phones"])
    ]
    CustomerPhone.objects.bulk_create(phones, batch_size=2000)


def error_report_workbook(errors: Iterable[RowError | dict[str, Any]]) -> bytes:
    """An .xlsx listing the errors: row, column, message."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Errors"))
    sheet.append([_("Row"), _("Column"), _("Error")])
    for item in errors:
        data = item.as_dict() if isinstance(item, RowError) else item
        sheet.append([data["row"], data["field"], data["message"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_customers(
    queryset: QuerySet[Customer], target: IO[bytes], progress: Progress | None = None
) -> int:
    """Write `queryset` as an .xlsx whose header the importer reads back; return the row count."""
    definitions = FieldDefinitions()
    custom = list(definitions.by_key.values())
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Customers"))
    sheet.append(
        [str(label) for _attribute, label in STANDARD_COLUMNS] + [d.display_label for d in custom]
    )
    vip_labels = dict(VipLevel.choices)
    total = queryset.count()
    written = 0
    rows = queryset.select_related("owner").prefetch_related("phones").iterator(chunk_size=1000)
    for customer in rows:
        values = customer.custom_fields or {}
        sheet.append(
            [
                customer.name,
                ", ".join(phone.number for phone in customer.phones.all()),
                str(vip_labels.get(customer.vip_level, customer.vip_level)),
                customer.owner.employee_number if customer.owner else "",
                customer.region,
                customer.address,
                customer.notes,
            ]
            + [_export_value(values.get(d.key)) for d in custom]
        )
        written += 1
        if progress and written % PROGRESS_EVERY == 0:
            progress(written, max(total, written))
    workbook.save(target)
    if progress:
        progress(written, max(total, written))
    return written


def _export_value(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return value
