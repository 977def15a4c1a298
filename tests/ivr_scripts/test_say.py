"""Numbers, amounts, dates and digits read aloud in Chinese and English."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ivr_scripts.say import SayError, say, say_amount, say_date, say_number

ZH_WORDS = json.loads(
    (Path(__file__).resolve().parents[2] / "ivr_scripts/prompts/zh.json").read_text("utf-8")
)["prompts"]
EN_WORDS = json.loads(
    (Path(__file__).resolve().parents[2] / "ivr_scripts/prompts/en.json").read_text("utf-8")
)["prompts"]


def zh(ids: list[str]) -> str:
    return "".join(ZH_WORDS[i] for i in ids)


def en(ids: list[str]) -> str:
    return " ".join(EN_WORDS[i] for i in ids)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (200, "两百"),
        (1005, "一千零五"),
        (2000, "两千"),
        (10010, "一万零一十"),
        (12345, "一万两千三百四十五"),
        (20000, "两万"),
        (100000, "十万"),
        (30405, "三万零四百零五"),
        (1000001, "一百万零一"),
        (1200300, "一百二十万零三百"),
        (200000000, "两亿"),
        (-3, "负三"),
    ],
)
def test_chinese_numbers(number, text) -> None:
    assert zh(say_number(number, "zh")) == text


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (105, "one hundred five"),
        (1234, "one thousand two hundred thirty four"),
        (2000000, "two million"),
        (1000001000, "one billion one thousand"),
    ],
)
def test_english_numbers(number, text) -> None:
    assert en(say_number(number, "en")) == text


def test_decimals_read_digit_by_digit() -> None:
    assert zh(say_number(Decimal("3.05"), "zh")) == "三点零五"
    assert en(say_number(Decimal("3.5"), "en")) == "three point five"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("12345.67", "一万两千三百四十五元六角七分"),
        ("12.05", "十二元零五分"),
        ("100", "一百元整"),
        ("0.50", "五角"),
        ("0", "零元整"),
        ("3210.005", "三千两百一十元零一分"),  # rounds half up to the fen
    ],
)
def test_chinese_amounts(amount, text) -> None:
    assert zh(say_amount(Decimal(amount), "zh")) == text


def test_english_amounts() -> None:
    assert en(say_amount(Decimal("1234.56"), "en")) == (
        "one thousand two hundred thirty four yuan fifty six fen"
    )
    assert en(say_amount(Decimal("5"), "en")) == "five yuan"


def test_dates() -> None:
    assert zh(say_date(dt.date(2024, 3, 5), "zh")) == "二零二四年三月五日"
    assert zh(say_date(dt.date(2024, 12, 31), "zh")) == "二零二四年十二月三十一日"
    assert en(say_date(dt.date(2024, 3, 5), "en")) == "March fifth twenty twenty four"
    assert en(say_date(dt.date(2005, 7, 22), "en")) == "July twenty second two thousand five"
    assert en(say_date(dt.date(1907, 1, 1), "en")) == "January first nineteen oh seven"


def test_digits_and_id_numbers() -> None:
    assert zh(say("digits", "11010519491231002X", "zh")).endswith("零零二叉")
    assert en(say("digits", "12*#", "en")) == "one two star pound"


def test_say_dispatch_and_errors() -> None:
    assert say("date", "2024-03-05T10:00:00", "zh")[:1] == ["say/2"]
    assert say("amount", 3, "en") == ["say/3", "say/yuan"]
    for kind, value in (("number", "abc"), ("amount", None), ("date", "soon"),
                        ("number", 10**13), ("color", 1)):  # fmt: skip
        with pytest.raises(SayError):
            say(kind, value, "zh")


def test_every_composed_id_exists_in_its_prompt_set() -> None:
    ids_zh, ids_en = set(), set()
    for n in [*range(0, 130), 1000, 10010, 123456789, 2 * 10**8, 999999999999]:
        ids_zh.update(say_number(n, "zh"))
        ids_en.update(say_number(n, "en"))
    for day in range(1, 32):
        ids_zh.update(say_date(dt.date(2024, 1, day), "zh"))
        ids_en.update(say_date(dt.date(1999, 12, day), "en"))
    for month in range(1, 13):
        ids_en.update(say_date(dt.date(2024, month, 1), "en"))
    ids_zh.update(say_amount(Decimal("-1.23"), "zh") + say_amount(Decimal(5), "zh"))
    ids_en.update(say_amount(Decimal("-1.23"), "en") + say("digits", "*#X", "en"))
    assert ids_zh <= set(ZH_WORDS)
    assert ids_en <= set(EN_WORDS)
