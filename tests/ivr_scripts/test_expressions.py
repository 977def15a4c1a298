"""The safe evaluator: what it computes, and that it never runs anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr_scripts.expressions import ExpressionError, evaluate, parse_expression


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("a == 'x' and b > 2", True),
        ("not found", True),
        ("len(digits) == 4", True),
        ("int('0042') + 1", 43),
        ("'en' if language == 'zh' else 'zh'", "en"),
        ("x in ['1', '2']", False),
        ("1 < b < 5", True),
        ("missing is None", None),  # 'is' is not whitelisted: see the rejection test
    ],
)
def test_values(source, expected) -> None:
    variables = {"a": "x", "b": 3, "digits": "1234", "language": "zh", "x": "9"}
    if source == "missing is None":
        with pytest.raises(ExpressionError):
            evaluate(source, variables)
        return
    assert evaluate(source, variables) == expected


def test_unknown_names_are_none_and_json_constants_work() -> None:
    assert evaluate("nothing", {}) is None
    assert evaluate("true and not false", {}) is True
    assert evaluate("null", {}) is None
    assert evaluate(5, {}) == 5


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "().__class__.__bases__",
        "a.upper()",
        "open('/etc/passwd')",
        "eval('1')",
        "[x for x in 'ab']",
        "lambda: 1",
        "a[0]",
        "2 ** 100000",
        "'a' * 100000000",
        "f'{a}'",
        "(a := 1)",
        "len(a, key=1)",
        "{'k': 1}",
        "x" * 600,
        "1 +",
    ],
)
def test_rejected(source) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, {"a": "text"})


def test_runtime_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError):
        evaluate("1 / 0", {})
    with pytest.raises(ExpressionError):
        evaluate("int('x')", {})
    with pytest.raises(ExpressionError):
        evaluate("'a' + 1", {})


class Trap:
    """An object whose every use is visible: nothing in an expression may touch it."""

    touched = False

    def __getattribute__(self, name):
        Trap.touched = True
        raise AssertionError(f"attribute {name} reached")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_escapes(source) -> None:
    variables = {"trap": Trap(), "a": "1"}
    try:
        parse_expression(source)
    except ExpressionError:
        return
    try:
        evaluate(source, variables)
    except ExpressionError:
        pass
    except AssertionError:
        raise
    assert not Trap.touched


_atoms = st.sampled_from(["a", "b", "1", "'x'", "true", "len(a)", "trap", "int(b)"])
_operators = st.sampled_from(["+", "-", "==", "!=", "<", "and", "or", "in", "%", "//"])
_attributes = st.sampled_from([".__class__", ".__dict__", ".upper()", "[0]", "()", ".x"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_atoms, _operators), min_size=1, max_size=5), _atoms, _attributes)
def test_attribute_or_call_anywhere_is_rejected(parts, last, suffix) -> None:
    source = " ".join(f"{atom} {op}" for atom, op in parts) + f" {last}{suffix}"
    with pytest.raises(ExpressionError):
        parse_expression(source)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_atoms, _operators), min_size=1, max_size=5), _atoms)
def test_whitelisted_grammar_parses_and_never_touches_objects(parts, last) -> None:
    source = " ".join(f"{atom} {op}" for atom, op in parts) + f" {last}"
    parse_expression(source)
    try:
        evaluate(source, {"a": "12", "b": "3", "trap": Trap()})
    except ExpressionError:
        pass
    assert not Trap.touched
