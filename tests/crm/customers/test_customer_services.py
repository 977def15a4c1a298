"""Custom field validation, phone normalization and lookup, customer create/update."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from crm.customers.choices import FieldType
from crm.customers.models import CodeTableEntry, CustomerPhone
from crm.customers.services import (
    create_customer,
    find_customer_by_phone,
    normalize_phone,
    update_customer,
    validate_custom_fields,
)
from tests.crm.customers.factories import CodeTableFactory, FieldFactory

pytestmark = pytest.mark.django_db


def field_errors(values):
    with pytest.raises(ValidationError) as info:
        validate_custom_fields(values)
    return info.value.message_dict


@pytest.fixture
def fields():
    table = CodeTableFactory(key="industry")
    CodeTableEntry.objects.create(table=table, code="FIN", label="金融")
    CodeTableEntry.objects.create(table=table, code="OLD", label="旧", active=False)
    return {
        "nickname": FieldFactory(key="nickname", field_type=FieldType.TEXT),
        "income": FieldFactory(key="income", field_type=FieldType.NUMBER),
        "birthday": FieldFactory(key="birthday", field_type=FieldType.DATE),
        "gender": FieldFactory(key="gender", field_type=FieldType.CHOICE, choices=["男", "女"]),
        "hobbies": FieldFactory(
            key="hobbies", field_type=FieldType.MULTI_CHOICE, choices=["读书", "跑步", "音乐"]
        ),
        "industry": FieldFactory(key="industry", field_type=FieldType.CODE_TABLE, code_table=table),
        "backup_phone": FieldFactory(key="backup_phone", field_type=FieldType.PHONE),
        "id_card": FieldFactory(key="id_card", field_type=FieldType.TEXT, required=True),
    }


def test_every_type_is_cleaned_to_its_stored_form(fields):
    cleaned = validate_custom_fields(
        {
            "nickname": "  小王 ",
            "income": "12000.50",
            "birthday": "1990-05-01",
            "gender": "女",
            "hobbies": ["音乐", "读书"],
            "industry": "FIN",
            "backup_phone": "138 0013 8000",
            "id_card": "110101199001011234",
        }
    )
    assert cleaned == {
        "nickname": "小王",
        "income": 12000.5,
        "birthday": "1990-05-01",
        "gender": "女",
        "hobbies": ["读书", "音乐"],
        "industry": "FIN",
        "backup_phone": "+8613800138000",
        "id_card": "110101199001011234",
    }
    assert validate_custom_fields({"income": 7, "id_card": "x"})["income"] == 7


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("income", "a lot"),
        ("income", True),
        ("birthday", "01/05/1990"),
        ("gender", "未知"),
        ("hobbies", ["读书", "钓鱼"]),
        ("hobbies", "读书"),
        ("industry", "XYZ"),
        ("industry", "OLD"),
        ("backup_phone", "12345"),
        ("nickname", {"nested": 1}),
    ],
)
def test_bad_values_are_reported_on_their_field(fields, key, value):
    errors = field_errors({"id_card": "x", key: value})
    assert list(errors) == [key]


def test_required_and_unknown_fields_are_reported_together(fields):
    with translation.override("en"):
        errors = field_errors({"nickname": "a", "shoe_size": 42})
    assert set(errors) == {"id_card", "shoe_size"}
    assert errors["id_card"] == ["This field is required."]
    assert errors["shoe_size"] == ["Unknown custom field."]


def test_bad_choice_message_names_the_value(fields):
    errors = field_errors({"id_card": "x", "gender": "未知"})
    assert "未知" in errors["gender"][0]


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "+8613800138000", "+86 138-0013-8000", "8613800138000", "008613800138000"],
)
def test_mobile_numbers_normalize_to_e164(raw):
    assert normalize_phone(raw) == "+8613800138000"


def test_landline_with_and_without_area_code(settings):
    settings.CENTER_AREA_CODE = "010"
    assert normalize_phone("010-62345678") == "+861062345678"
    assert normalize_phone("62345678") == "+861062345678"
    assert normalize_phone("+1 650 253 0000") == "+16502530000"


def test_find_customer_by_any_written_form_in_one_query(django_assert_num_queries):
    customer = create_customer(name="张三", phones=["13800138000", "010 6234 5678"])
    for raw in ("+8613800138000", "8613800138000", "13800138000", "01062345678", "62345678"):
        with django_assert_num_queries(1):
            assert find_customer_by_phone(raw) == customer
    with django_assert_num_queries(0):
        assert find_customer_by_phone("anonymous") is None
    assert find_customer_by_phone("13900000000") is None


def test_create_customer_validates_everything_and_saves_nothing_on_error(fields):
    with pytest.raises(ValidationError) as info:
        create_customer(name="", phones=["bad"], custom_fields={"gender": "x"})
    errors = info.value.message_dict
    assert {"name", "phones", "custom_fields.gender", "custom_fields.id_card"} == set(errors)
    assert CustomerPhone.objects.count() == 0


def test_a_number_belongs_to_one_customer():
    create_customer(name="甲", phones=["13800138000"])
    with pytest.raises(ValidationError) as info:
        create_customer(name="乙", phones=["+86 13800138000"])
    assert "phones" in info.value.message_dict


def test_update_replaces_phones_and_fields(fields):
    customer = create_customer(
        name="甲", phones=["13800138000", "13900139000"], custom_fields={"id_card": "1"}
    )
    update_customer(
        customer, name="甲二", phones=["13900139000", "13700137000"], custom_fields={"id_card": "2"}
    )
    customer.refresh_from_db()
    assert customer.name == "甲二"
    assert customer.custom_fields == {"id_card": "2"}
    numbers = list(customer.phones.values_list("number", "is_primary"))
    assert sorted(numbers) == [("+8613700137000", False), ("+8613900139000", True)]
