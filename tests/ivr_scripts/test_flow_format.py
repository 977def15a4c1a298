"""Flow validation: the shipped flows are valid, and each kind of mistake is reported."""

from __future__ import annotations

import copy
import json

import pytest

from ivr_scripts.flow import Flow, FlowError, validate_flow
from ivr_scripts.store import FLOWS_KEY, FlowSnapshot, FlowSnapshotReader

from .helpers import FLOWS_DIR, shipped_flow


@pytest.mark.parametrize("path", sorted(FLOWS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_shipped_flows_are_valid(path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert validate_flow(data) == []
    assert data["code"] == path.stem


def test_shipped_flows_use_only_prompts_that_exist() -> None:
    prompts = {}
    for language in ("zh", "en"):
        text = (FLOWS_DIR.parent / "prompts" / f"{language}.json").read_text(encoding="utf-8")
        prompts[language] = set(json.loads(text)["prompts"])
    for path in FLOWS_DIR.glob("*.json"):
        used = _prompt_ids(json.loads(path.read_text(encoding="utf-8"))["nodes"])
        assert used <= prompts["zh"] and used <= prompts["en"], path


PROMPT_FIELDS = {
    "prompts", "invalid_prompts", "notice_prompts", "after_prompts", "thanks_prompts",
    "harassment_prompts", "before", "after",
}  # fmt: skip


def _prompt_ids(value) -> set[str]:
    used: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PROMPT_FIELDS:
                used.update(i for i in item if isinstance(i, str))
            else:
                used |= _prompt_ids(item)
    return used


def mutate(change):
    data = copy.deepcopy(shipped_flow("hotline_12329"))
    change(data)
    return validate_flow(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(start="nowhere"), "start: names a missing node"),
        (lambda d: d["nodes"]["welcome"].update(next="nowhere"), "next names a missing node"),
        (lambda d: d["nodes"]["welcome"].update(type="dance"), "unknown node type"),
        (lambda d: d["nodes"]["main_menu"]["options"].update({"12": "to_agent"}), "not one DTMF"),
        (lambda d: d["nodes"]["main_menu"].pop("failure"), "'failure' is required"),
        (lambda d: d["nodes"]["ask_id"].update(min_length=20), "exceeds 'max_length'"),
        (lambda d: d["nodes"]["ask_id"].update(pattern="(["), "not a regular expression"),
        (lambda d: d["nodes"]["ask_id"].update(tries=0), "'tries' must be a number"),
        (lambda d: d["nodes"]["id_valid"]["conditions"][0].update({"if": "a.b"}), "Attribute"),
        (
            lambda d: d["nodes"]["deposit_start"].update(variables={"x": "__import__('os')"}),
            "only these functions",
        ),  # fmt: skip
        (lambda d: d["nodes"]["check_id"].update(url="x/"), "exactly one of 'function' or 'url'"),
        (lambda d: d["nodes"]["to_agent"].update(next="welcome"), "ends the flow"),
        (
            lambda d: d["nodes"]["welcome"].update(prompts=[{"say": "color", "value": "1"}]),
            "'say' must be one of",
        ),  # fmt: skip
        (lambda d: d["nodes"]["welcome"].update(prompts=[{"sound": "x"}]), "unknown prompt item"),
        (lambda d: d.update(code="Bad Code"), "code:"),
        (lambda d: d.update(extra=1), "unknown top-level fields"),
        (lambda d: d["nodes"].update({"9bad": {"type": "hangup"}}), "a node id is"),
    ],
)
def test_mistakes_are_reported(change, message) -> None:
    problems = mutate(change)
    assert any(message in problem for problem in problems), problems


def test_from_dict_raises_with_every_problem() -> None:
    with pytest.raises(FlowError) as error:
        Flow.from_dict({"code": "x", "start": "a", "nodes": {"a": {"type": "play"}}})
    assert len(error.value.problems) == 2  # prompts and next
    assert validate_flow([]) == ["a flow must be a JSON object"]


def test_snapshot_reader_skips_invalid_flows_and_keeps_newest(redis_client) -> None:
    reader = FlowSnapshotReader(redis_client)
    assert reader.refresh() is False
    data = {
        "version": 2,
        "flows": {
            "survey": {"version": 4, "definition": shipped_flow("survey")},
            "broken": {"version": 1, "definition": {"code": "broken"}},
        },
        "notices": [],
    }
    redis_client.set(FLOWS_KEY, json.dumps(data))
    assert reader.refresh() is True
    assert set(reader.current.flows) == {"survey"}
    assert reader.current.flow("survey").version == 4
    redis_client.set(FLOWS_KEY, json.dumps({**data, "version": 1}))
    assert reader.refresh() is False
    assert isinstance(reader.current, FlowSnapshot)
