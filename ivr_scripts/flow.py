"""The flow format: a versioned graph of typed nodes, stored as JSON, and its validation.

A flow is a JSON object::

    {"code": "survey", "name": "...", "start": "ask",
     "nodes": {"ask": {"type": "survey", ...}, "bye": {"type": "hangup"}}}

Each node names its successors in fields such as ``next``, ``error`` or ``options``; the
validator checks every field of every node type and that each named successor exists, so a
flow that loads is a flow the runner can walk. docs/ivr.md documents every node type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ivr_scripts.expressions import ExpressionError, parse_expression

FLOW_FORMAT = 1
LANGUAGES = ("zh", "en")
SAY_KINDS = ("digits", "number", "amount", "date")
TRANSFER_KINDS = ("agent", "queue", "number")
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_NODE_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_DTMF_KEYS = set("0123456789*#")


class FlowError(ValueError):
    """A flow definition that does not follow the format; ``problems`` lists each fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid IVR flow:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Flow:
    """One validated version of a flow: its code, version number and node graph."""

    code: str
    name: str
    start: str
    nodes: Mapping[str, Mapping[str, Any]]
    version: int = 0
    description: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> Flow:
        """Validate ``data`` and build the flow; raises :class:`FlowError`."""
        problems = validate_flow(data)
        if problems:
            raise FlowError(problems)
        return cls(
            code=data["code"],
            name=data.get("name", data["code"]),
            start=data["start"],
            nodes=data["nodes"],
            version=version,
            description=data.get("description", ""),
        )

    def node(self, node_id: str) -> Mapping[str, Any]:
        return self.nodes[node_id]


# -- validation ------------------------------------------------------------------------------


class _Checker:
    def __init__(self, problems: list[str], where: str) -> None:
        self.problems = problems
        self.where = where

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    def expression(self, node: Mapping[str, Any], field: str, *, required: bool = True) -> None:
        value = node.get(field)
        if value is None:
            if required:
                self.fail(f"{field!r} is required")
            return
        self.expression_value(value, field)

    def expression_value(self, value: Any, field: str) -> None:
        if isinstance(value, bool | int | float):
            return
        if not isinstance(value, str):
            self.fail(f"{field!r} must be an expression string")
            return
        try:
            parse_expression(value)
        except ExpressionError as error:
            self.fail(f"{field!r}: {error}")

    def number(
        self, node: Mapping[str, Any], field: str, low: float, high: float, *, integer: bool = True
    ) -> None:
        if field not in node:
            return
        value = node[field]
        numeric = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not numeric or not low <= value <= high:
            self.fail(f"{field!r} must be a number from {low} to {high}")

    def variable(self, node: Mapping[str, Any], field: str, *, required: bool = True) -> None:
        value = node.get(field)
        if value is None:
            if required:
                self.fail(f"{field!r} is required")
            return
        if not isinstance(value, str) or not _VARIABLE_RE.match(value):
            self.fail(f"{field!r} must be a variable name (letters, digits, underscore)")

    def string(self, node: Mapping[str, Any], field: str, *, required: bool = True) -> None:
        value = node.get(field)
        if value is None:
            if required:
                self.fail(f"{field!r} is required")
            return
        if not isinstance(value, str) or not value:
            self.fail(f"{field!r} must be a non-empty string")

    def prompts(self, node: Mapping[str, Any], field: str, *, required: bool = False) -> None:
        value = node.get(field)
        if value is None:
            if required:
                self.fail(f"{field!r} is required")
            return
        if not isinstance(value, list):
            self.fail(f"{field!r} must be a list of prompt items")
            return
        for index, item in enumerate(value):
            check_prompt_item(item, f"{field}[{index}]", self)


def check_prompt_item(item: Any, field: str, check: _Checker) -> None:
    """A prompt item: ``"id"``, ``{"prompt": id}``, ``{"file": path}``, ``{"text": "..."}``
    (synthesized ahead of time) or ``{"say": kind, "value": expression}``."""
    if isinstance(item, str):
        if not item:
            check.fail(f"{field}: an empty prompt id")
        return
    if not isinstance(item, dict) or len(item.keys() - {"value"}) != 1:
        check.fail(f"{field}: use a prompt id or one of prompt/file/text/say")
        return
    if "say" in item:
        if item["say"] not in SAY_KINDS:
            check.fail(f"{field}: 'say' must be one of {', '.join(SAY_KINDS)}")
        check.expression(item, "value")
        return
    if "value" in item:
        check.fail(f"{field}: 'value' belongs to a 'say' item")
        return
    key = next(iter(item))
    if key not in ("prompt", "file", "text"):
        check.fail(f"{field}: unknown prompt item {key!r}")
    elif not isinstance(item[key], str) or not item[key]:
        check.fail(f"{field}: {key!r} must be a non-empty string")


def _collect_fields(node: Mapping[str, Any], check: _Checker) -> None:
    check.prompts(node, "prompts")
    check.prompts(node, "invalid_prompts")
    check.number(node, "tries", 1, 10)
    check.number(node, "timeout", 1, 120, integer=False)
    check.number(node, "digit_timeout", 1, 60, integer=False)
    terminator = node.get("terminator")
    if terminator is not None and (
        not isinstance(terminator, str) or not set(terminator) <= _DTMF_KEYS
    ):
        check.fail("'terminator' must be DTMF keys, such as '#'")


def _targets_of(node: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (field, successor) pair a node names."""
    for field in ("next", "error", "failure", "else", "open", "closed", "holiday", "blocked"):
        if field in node:
            yield field, node[field]
    node_type = node.get("type")
    if node_type == "menu" and isinstance(node.get("options"), dict):
        for key, target in node["options"].items():
            yield f"options[{key}]", target
    if node_type == "branch" and isinstance(node.get("conditions"), list):
        for index, condition in enumerate(node["conditions"]):
            if isinstance(condition, dict):
                yield f"conditions[{index}].next", condition.get("next")
    if node_type == "goto" and "node" in node:
        yield "node", node["node"]


_TERMINAL_TYPES = {"queue", "transfer", "voicemail", "survey", "hangup"}

# field -> required successor fields, per node type
_REQUIRED_TARGETS: dict[str, tuple[str, ...]] = {
    "play": ("next",),
    "say": ("next",),
    "collect": ("next", "failure"),
    "menu": ("failure",),
    "time": ("open", "closed"),
    "block_check": ("next",),
    "lookup": ("next", "error"),
    "set": ("next",),
    "branch": ("else",),
    "language": ("next",),
}


def _check_node(node_id: str, node: Any, check: _Checker) -> None:
    if not isinstance(node, dict):
        check.fail("a node must be an object")
        return
    node_type = node.get("type")
    if node_type not in NODE_TYPES:
        check.fail(f"unknown node type {node_type!r} (one of {', '.join(sorted(NODE_TYPES))})")
        return
    for field in _REQUIRED_TARGETS.get(node_type, ()):
        if field not in node:
            check.fail(f"{field!r} is required for a {node_type} node")
    NODE_TYPES[node_type](node, check)


def _check_play(node: Mapping[str, Any], check: _Checker) -> None:
    check.prompts(node, "prompts", required=True)


def _check_say(node: Mapping[str, Any], check: _Checker) -> None:
    if node.get("say") not in SAY_KINDS:
        check.fail(f"'say' must be one of {', '.join(SAY_KINDS)}")
    check.expression(node, "value")
    check.prompts(node, "before")
    check.prompts(node, "after")


def _check_collect(node: Mapping[str, Any], check: _Checker) -> None:
    _collect_fields(node, check)
    check.variable(node, "variable")
    check.number(node, "min_length", 1, 64)
    check.number(node, "max_length", 1, 64)
    low, high = node.get("min_length", 1), node.get("max_length", 1)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        check.fail("'min_length' exceeds 'max_length'")
    pattern = node.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError):
            check.fail("'pattern' is not a regular expression")


def _check_menu(node: Mapping[str, Any], check: _Checker) -> None:
    _collect_fields(node, check)
    check.variable(node, "variable", required=False)
    options = node.get("options")
    if not isinstance(options, dict) or not options:
        check.fail("'options' must map keys to nodes")
        return
    for key in options:
        if key not in _DTMF_KEYS:
            check.fail(f"menu option {key!r} is not one DTMF key")


def _check_time(node: Mapping[str, Any], check: _Checker) -> None:
    calendar = node.get("calendar")
    if calendar is not None and (isinstance(calendar, bool) or not isinstance(calendar, int)):
        check.fail("'calendar' must be a calendar id (omit it to use the DID's calendar)")


def _check_block(node: Mapping[str, Any], check: _Checker) -> None:
    check.prompts(node, "notice_prompts")
    if node.get("direction", "in") not in ("in", "out"):
        check.fail("'direction' must be 'in' or 'out'")


def _check_lookup(node: Mapping[str, Any], check: _Checker) -> None:
    has_function, has_url = "function" in node, "url" in node
    if has_function == has_url:
        check.fail("a lookup names exactly one of 'function' or 'url'")
    check.string(node, "function", required=False)
    check.string(node, "url", required=False)
    check.number(node, "timeout", 0.1, 30, integer=False)
    params = node.get("params", {})
    if not isinstance(params, dict):
        check.fail("'params' must map names to expressions")
    else:
        for name, expression in params.items():
            check.expression_value(expression, f"params.{name}")
    if "into" in node:
        check.variable(node, "into")


def _check_set(node: Mapping[str, Any], check: _Checker) -> None:
    variables = node.get("variables")
    if not isinstance(variables, dict) or not variables:
        check.fail("'variables' must map names to expressions")
        return
    for name, expression in variables.items():
        if not _VARIABLE_RE.match(str(name)):
            check.fail(f"{name!r} is not a variable name")
        check.expression_value(expression, f"variables.{name}")


def _check_branch(node: Mapping[str, Any], check: _Checker) -> None:
    conditions = node.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        check.fail("'conditions' must be a list of {'if': expression, 'next': node}")
        return
    for index, condition in enumerate(conditions):
        if not isinstance(condition, dict) or set(condition) != {"if", "next"}:
            check.fail(f"conditions[{index}] must have exactly 'if' and 'next'")
            continue
        check.expression_value(condition["if"], f"conditions[{index}].if")


def _check_queue(node: Mapping[str, Any], check: _Checker) -> None:
    check.string(node, "queue")
    check.expression(node, "priority", required=False)
    skills = node.get("skills", [])
    if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
        check.fail("'skills' must be a list of skill codes")
    check.prompts(node, "prompts")


def _check_transfer(node: Mapping[str, Any], check: _Checker) -> None:
    if node.get("kind") not in TRANSFER_KINDS:
        check.fail(f"'kind' must be one of {', '.join(TRANSFER_KINDS)}")
    check.expression(node, "target")
    check.prompts(node, "prompts")


def _check_voicemail(node: Mapping[str, Any], check: _Checker) -> None:
    check.prompts(node, "prompts")
    check.prompts(node, "after_prompts")
    check.expression(node, "group", required=False)
    check.expression(node, "queue", required=False)
    check.number(node, "max_seconds", 5, 600)
    check.number(node, "silence_seconds", 1, 60)


def _check_survey(node: Mapping[str, Any], check: _Checker) -> None:
    _collect_fields(node, check)
    check.prompts(node, "thanks_prompts")
    options = node.get("options")
    if not isinstance(options, dict) or not options:
        check.fail("'options' must map keys to {'label': ..., 'score': 1-4}")
        return
    for key, option in options.items():
        if key not in _DTMF_KEYS:
            check.fail(f"survey option {key!r} is not one DTMF key")
        if not isinstance(option, dict) or not isinstance(option.get("label"), str):
            check.fail(f"survey option {key!r} needs a 'label'")
            continue
        score = option.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 4:
            check.fail(f"survey option {key!r}: 'score' must be 1 to 4")


def _check_hangup(node: Mapping[str, Any], check: _Checker) -> None:
    check.prompts(node, "prompts")
    check.string(node, "cause", required=False)


def _check_goto(node: Mapping[str, Any], check: _Checker) -> None:
    if ("node" in node) == ("flow" in node):
        check.fail("a goto names exactly one of 'node' or 'flow'")
    check.string(node, "flow", required=False)


def _check_language(node: Mapping[str, Any], check: _Checker) -> None:
    if node.get("language") not in LANGUAGES:
        check.fail(f"'language' must be one of {', '.join(LANGUAGES)}")


NODE_TYPES = {
    "play": _check_play,
    "say": _check_say,
    "collect": _check_collect,
    "menu": _check_menu,
    "time": _check_time,
    "block_check": _check_block,
    "lookup": _check_lookup,
    "set": _check_set,
    "branch": _check_branch,
    "queue": _check_queue,
    "transfer": _check_transfer,
    "voicemail": _check_voicemail,
    "survey": _check_survey,
    "hangup": _check_hangup,
    "goto": _check_goto,
    "language": _check_language,
}


def validate_flow(data: Any) -> list[str]:
    """Every problem in a flow definition (an empty list when it is valid)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["a flow must be a JSON object"]
    code = data.get("code")
    if not isinstance(code, str) or not _CODE_RE.match(code):
        problems.append("code: lower-case letters, digits, '-' or '_', at most 50")
    if "name" in data and not isinstance(data["name"], str):
        problems.append("name: must be a string")
    nodes = data.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        problems.append("nodes: must map node ids to nodes")
        return problems
    for node_id, node in nodes.items():
        check = _Checker(problems, f"nodes.{node_id}")
        if not _NODE_ID_RE.match(node_id):
            check.fail("a node id is letters, digits and underscores, starting with a letter")
        _check_node(node_id, node, check)
        if isinstance(node, dict):
            for field, target in _targets_of(node):
                if not isinstance(target, str) or target not in nodes:
                    check.fail(f"{field} names a missing node {target!r}")
            if node.get("type") in _TERMINAL_TYPES and "next" in node:
                check.fail(f"a {node['type']} node ends the flow and has no 'next'")
    start = data.get("start")
    if start not in nodes:
        problems.append(f"start: names a missing node {start!r}")
    unknown = set(data) - {"code", "name", "description", "start", "nodes", "format"}
    if unknown:
        problems.append(f"unknown top-level fields: {', '.join(sorted(unknown))}")
    return problems
