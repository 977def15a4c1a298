"""Reading digits, numbers, amounts and dates aloud as a sequence of prompt ids.

FreeSWITCH's ``say`` needs a language module (mod_say_zh is often absent), so the engine
composes the words itself and plays them as concatenated prompt files. The ids are the same
in every language (``say/7``, ``say/100``, ``say/yuan``...); each language's prompt set
(prompts/<lang>.json) gives their words. Chinese reads 12,345 as 一万二千三百四十五 (with
两 before 百/千/万/亿 and 零 for skipped places); English reads it as twelve thousand three
hundred forty five, using Asterisk's digit files.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_SAY_NUMBER = 10**12 - 1


class SayError(ValueError):
    """A value that cannot be read as the requested kind."""


def say(kind: str, value: object, language: str) -> list[str]:
    """Prompt ids reading ``value`` as ``kind`` (digits, number, amount, date)."""
    if kind == "digits":
        return say_digits(str(value if value is not None else ""))
    if kind == "number":
        return say_number(_decimal(value), language)
    if kind == "amount":
        return say_amount(_decimal(value), language)
    if kind == "date":
        return say_date(_date(value), language)
    raise SayError(f"unknown say kind {kind!r}")


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise SayError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise SayError(f"{value!r} is not a number") from None
    if not number.is_finite() or abs(number) > MAX_SAY_NUMBER:
        raise SayError(f"{value!r} is out of range")
    return number


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SayError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def say_digits(text: str) -> list[str]:
    """Each digit on its own (an ID number, a phone number); ``*`` and ``#`` as words."""
    words = {"*": "say/star", "#": "say/pound"}
    result = []
    for character in text:
        if character.isdigit():
            result.append(f"say/{character}")
        elif character in words:
            result.append(words[character])
        elif character.upper() == "X":  # the check digit of a Chinese ID number
            result.append("say/x")
    return result


def say_number(number: Decimal | int, language: str) -> list[str]:
    """A number; decimals are read digit by digit after the point."""
    number = Decimal(number)
    result: list[str] = []
    if number < 0:
        result.append("say/minus")
        number = -number
    integer = int(number)
    result += _integer_zh(integer) if language == "zh" else _integer_en(integer)
    fraction = format(number - integer, "f").rstrip("0").partition(".")[2]
    if fraction:
        result.append("say/point")
        result += say_digits(fraction)
    return result


def say_amount(amount: Decimal | int, language: str) -> list[str]:
    """A sum in yuan: 元/角/分 in Chinese, "N yuan M fen" in English."""
    amount = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    result: list[str] = []
    if amount < 0:
        result.append("say/minus")
        amount = -amount
    cents_total = int(amount * 100)
    yuan, cents = divmod(cents_total, 100)
    if language == "zh":
        jiao, fen = divmod(cents, 10)
        if yuan or not cents:
            result += _integer_zh(yuan) + ["say/yuan"]
        if jiao:
            result += _integer_zh(jiao) + ["say/jiao"]
        elif fen and yuan:
            result.append("say/0")  # 十二元零五分
        if fen:
            result += _integer_zh(fen) + ["say/fen"]
        if not cents:
            result.append("say/zheng")
        return result
    result += _integer_en(yuan) + ["say/yuan"]
    if cents:
        result += _integer_en(cents) + ["say/fen"]
    return result


def say_date(date: dt.date, language: str) -> list[str]:
    """二〇二四年三月五日 in Chinese; March fifth, two thousand twenty four in English."""
    if language == "zh":
        return (
            say_digits(f"{date.year:04d}")
            + ["say/year"]
            + _integer_zh(date.month)
            + ["say/month"]
            + _integer_zh(date.day)
            + ["say/day"]
        )
    return [f"say/month-{date.month}", f"say/day-{date.day}"] + _year_en(date.year)


def _year_en(year: int) -> list[str]:
    century, rest = divmod(year, 100)
    if 2000 <= year <= 2009 or rest == 0:
        return _integer_en(year)
    return _integer_en(century) + (["say/oh"] if rest < 10 else []) + _integer_en(rest)


_ZH_GROUP_UNITS = ("", "say/10000", "say/100000000")
_ZH_PLACE_UNITS = ("", "say/10", "say/100", "say/1000")


def _zh_group(value: int, leading: bool) -> list[str]:
    """A group of up to four digits (千百十个), with 零 where places are skipped."""
    digits = [int(d) for d in f"{value:04d}"]
    result: list[str] = []
    pending_zero = False
    started = False
    for index, digit in enumerate(digits):
        place = 3 - index
        if digit == 0:
            if started or not leading:
                pending_zero = True
            continue
        if pending_zero and (started or not leading):
            result.append("say/0")
        pending_zero = False
        if digit == 2 and place >= 2:
            result.append("say/liang")
        elif digit == 1 and place == 1 and leading and not started:
            pass  # 十二, not 一十二, at the very start of a number
        else:
            result.append(f"say/{digit}")
        if place:
            result.append(_ZH_PLACE_UNITS[place])
        started = True
    return result


def _integer_zh(value: int) -> list[str]:
    if value == 0:
        return ["say/0"]
    groups = []
    while value:
        value, group = divmod(value, 10000)
        groups.append(group)
    result: list[str] = []
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(result)
            continue
        leading = not result
        words = _zh_group(group, leading)
        if need_zero or (not leading and group < 1000 and words[:1] != ["say/0"]):
            words = ["say/0"] + words
        if leading and group == 2 and index > 0:
            words = ["say/liang"]  # 两万, 两亿
        result += words
        if _ZH_GROUP_UNITS[index]:
            result.append(_ZH_GROUP_UNITS[index])
        need_zero = False
    return result


def _integer_en(value: int) -> list[str]:
    if value == 0:
        return ["say/0"]
    result: list[str] = []
    for size, unit in ((10**9, "say/1000000000"), (10**6, "say/1000000"), (1000, "say/1000")):
        if value >= size:
            count, value = divmod(value, size)
            result += _below_thousand_en(count) + [unit]
    if value:
        result += _below_thousand_en(value)
    return result


def _below_thousand_en(value: int) -> list[str]:
    result: list[str] = []
    hundreds, rest = divmod(value, 100)
    if hundreds:
        result += [f"say/{hundreds}", "say/100"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        result.append(f"say/{tens * 10}")
        if ones:
            result.append(f"say/{ones}")
    elif rest:
        result.append(f"say/{rest}")
    return result
