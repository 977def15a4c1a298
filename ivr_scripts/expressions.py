"""A safe expression evaluator for flow conditions and variable assignments.

Expressions are parsed with :mod:`ast` and walked by our own interpreter, which accepts only
the node types listed in ``_ALLOWED`` (literals, variable names, comparisons, boolean logic,
arithmetic, ``x if c else y``, ``in`` on literal lists and calls to the few functions in
``FUNCTIONS``). Attribute access, subscripts of anything but variables, lambdas,
comprehensions, imports and every other construct are rejected at parse time, so nothing in a
flow can reach Python objects. ``eval``/``exec``/``compile`` are never called.

Unknown variable names evaluate to ``None``; ``true``, ``false`` and ``null`` are accepted as
JSON spellings of the constants.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

MAX_EXPRESSION_LENGTH = 500
MAX_STRING_LENGTH = 10_000
MAX_INTEGER_DIGITS = 40


class ExpressionError(ValueError):
    """An expression that is not allowed or cannot be evaluated."""


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_INTEGER_DIGITS:
            raise ExpressionError("number too long")
    return int(value)


def _to_float(value: Any) -> float:
    return float(value)


def _length(value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, str | list | tuple | dict):
        raise ExpressionError("len() takes text or a list")
    return len(value)


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "len": _length,
    "int": _to_int,
    "float": _to_float,
    "str": _to_str,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
}

_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ALLOWED: tuple[type, ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.List,
    ast.Tuple,
    *_BINARY,
    *_COMPARE,
)


@lru_cache(maxsize=1024)
def parse_expression(source: str) -> ast.Expression:
    """Parse and whitelist-check ``source``; raises :class:`ExpressionError`."""
    if not isinstance(source, str):
        raise ExpressionError("an expression is text")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError) as error:
        raise ExpressionError(
            f"syntax error: {error.msg if isinstance(error, SyntaxError) else error}"
        ) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError("only these functions may be called: " + ", ".join(FUNCTIONS))
            if node.keywords:
                raise ExpressionError("keyword arguments are not allowed")
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, str | int | float | bool | type(None)
        ):
            raise ExpressionError("only text, numbers, booleans and null are literals")
    return tree


def evaluate(source: str | int | float | bool | None, variables: Mapping[str, Any]) -> Any:
    """The value of an expression with ``variables`` in scope.

    Numbers and booleans given directly (from JSON) are their own value.
    """
    if source is None or isinstance(source, bool | int | float):
        return source
    tree = parse_expression(source)
    try:
        return _Interpreter(variables).visit(tree.body)
    except ExpressionError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as error:
        raise ExpressionError(f"cannot evaluate {source!r}: {error}") from None


def is_true(source: str | int | float | bool | None, variables: Mapping[str, Any]) -> bool:
    return bool(evaluate(source, variables))


class _Interpreter:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:  # parse_expression already refused it; belt and braces
            raise ExpressionError(f"{type(node).__name__} is not allowed")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return self.variables.get(node.id)

    def visit_List(self, node: ast.List) -> list[Any]:
        return [self.visit(item) for item in node.elts]

    def visit_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.visit(item) for item in node.elts)

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for operand in node.values:
            result = self.visit(operand)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpressionError("a sign applies to numbers only")
        return -value if isinstance(node.op, ast.USub) else value

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Mult) and (isinstance(left, str) or isinstance(right, str)):
            # Repeating text could exhaust memory; flows have no use for it.
            raise ExpressionError("text cannot be multiplied")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, str) and len(result) > MAX_STRING_LENGTH:
            raise ExpressionError("text too long")
        if isinstance(result, int) and abs(result) >= 10**MAX_INTEGER_DIGITS:
            raise ExpressionError("number too large")
        return result

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)
        function = FUNCTIONS[node.func.id]
        return function(*(self.visit(argument) for argument in node.args))
