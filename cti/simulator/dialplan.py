"""FreeSWITCH XML dialplan: contexts, extensions, conditions, actions, substitutions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

_VARIABLE = re.compile(r"\$\{([^{}]+)\}")
_CAPTURE = re.compile(r"\$(\d)")
# switch_channel_expand_variables' escapes, in a text it expands (one with ``${`` or with
# the escapes switch_string_has_escaped_data finds): ``\\`` gives one backslash, ``\$`` a
# plain ``$`` (held until the end, so no later pass expands it), ``\'`` nothing; any other
# backslash stays.
_ESCAPE = re.compile(r"\\([\\$'])")
_ESCAPE_FLAGS = re.compile(r"\\[\\nst']")
_HELD_DOLLAR = "\x00"
_UNESCAPED = {"\\": "\\", "$": _HELD_DOLLAR, "'": ""}


def _unescape(match: re.Match[str]) -> str:
    return _UNESCAPED[match.group(1)]


@dataclass
class Action:
    application: str
    data: str
    anti: bool = False


@dataclass
class Condition:
    field_name: str | None
    expression: str | None
    actions: list[Action] = field(default_factory=list)
    anti_actions: list[Action] = field(default_factory=list)
    break_on: str = "on-false"


@dataclass
class Extension:
    name: str
    continue_after: bool
    conditions: list[Condition] = field(default_factory=list)


class Dialplan:
    """Extensions per context, parsed from one or more FreeSWITCH XML documents."""

    def __init__(self, xml_documents: list[str] | str | None = None) -> None:
        self.contexts: dict[str, list[Extension]] = {}
        if isinstance(xml_documents, str):
            xml_documents = [xml_documents]
        for document in xml_documents or []:
            self.load(document)

    def load(self, document: str, default_context: str = "default") -> None:
        """Add the extensions of one XML document.

        ``$${name}`` pre-processor variables become ``${name}``: the global variable is then
        read when the action runs (FreeSWITCH substitutes them when it loads the XML).
        ``X-PRE-PROCESS`` includes are ignored: load the included files as documents too.
        """
        document = document.replace("$${", "${")
        root = etree.fromstring(document.encode("utf-8"))
        contexts = list(root.iter("context"))
        if root.tag == "context":
            contexts = [root]
        if contexts:
            for context in contexts:
                self._load_extensions(context.get("name", default_context), context)
        else:
            self._load_extensions(default_context, root)

    def _load_extensions(self, context_name: str, parent: etree._Element) -> None:
        extensions = self.contexts.setdefault(context_name, [])
        for element in parent.iter("extension"):
            extension = Extension(
                name=element.get("name", ""),
                continue_after=element.get("continue", "false") == "true",
            )
            for condition_element in element.findall("condition"):
                condition = Condition(
                    field_name=condition_element.get("field"),
                    expression=condition_element.get("expression"),
                    break_on=condition_element.get("break", "on-false"),
                )
                for child in condition_element:
                    if child.tag == "action":
                        condition.actions.append(
                            Action(child.get("application", ""), child.get("data", ""))
                        )
                    elif child.tag == "anti-action":
                        condition.anti_actions.append(
                            Action(child.get("application", ""), child.get("data", ""), True)
                        )
                extension.conditions.append(condition)
            extensions.append(extension)

    def route(self, context: str, field_value: Callable[[str], str]) -> list[tuple[str, str]]:
        """Applications (name, data with $N substituted) for a call, in order."""
        result: list[tuple[str, str]] = []
        for extension in self.contexts.get(context, []):
            matched_any = False
            all_true = True
            for condition in extension.conditions:
                captures: tuple[str, ...] = ()
                if condition.field_name is None and condition.expression is None:
                    passed = True
                else:
                    value = field_value(condition.field_name or "")
                    match = re.search(condition.expression or "", value)
                    passed = match is not None
                    if match:
                        captures = (match.group(0), *[g or "" for g in match.groups()])
                if passed:
                    matched_any = True
                    for action in condition.actions:
                        result.append((action.application, _substitute(action.data, captures)))
                    if condition.break_on == "on-true":
                        break
                else:
                    all_true = False
                    for action in condition.anti_actions:
                        result.append((action.application, action.data))
                    if condition.break_on in ("on-false", "always"):
                        break
            if matched_any and all_true and not extension.continue_after:
                break
        return result


def _substitute(data: str, captures: tuple[str, ...]) -> str:
    def replace(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return captures[index] if index < len(captures) else ""

    return _CAPTURE.sub(replace, data)


def expand_variables(
    text: str,
    lookup: Callable[[str], str | None],
    api: Callable[[str, str], str] | None = None,
) -> str:
    """Expand ``${var}`` and ``${api(args)}`` the way switch_channel_expand_variables does.
    Escapes as _ESCAPE says: ``\\${x}`` gives ``${x}``, left for a later expansion."""
    held = "\\" in text and ("${" in text or _ESCAPE_FLAGS.search(text) is not None)
    if held:
        text = _ESCAPE.sub(_unescape, text)
    previous = None
    while previous != text and "${" in text:
        previous = text

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            call = re.fullmatch(r"([A-Za-z0-9_]+)\((.*)\)", inner, re.S)
            if call and api is not None:
                return api(call.group(1), call.group(2))
            return lookup(inner) or ""

        text = _VARIABLE.sub(replace, text)
    return text.replace(_HELD_DOLLAR, "$") if held else text
