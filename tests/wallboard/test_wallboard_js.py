"""The wallboard page's event handling (wallboard/static/wallboard/wallboard.js), run in Node
with the page's globals stubbed: what it keeps, updates and drops."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "wallboard" / "static" / "wallboard" / "wallboard.js"

HARNESS = """
const fs = require("fs");
const vm = require("vm");
const config = {text: {callStates: {}}, ownExtension: "1001"};
const context = {
  window: {setTimeout: () => 0, setInterval: () => 0, addEventListener: () => {}},
  document: {getElementById: () => ({textContent: JSON.stringify(config)})},
  JSON, Object, String, Math, Date, console,
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const board = context.window.wallboardApp();
board.live = {resync: () => {}};
board.applySync(JSON.parse(process.argv[2]));
for (const event of JSON.parse(process.argv[3])) board.applyEvent(event);
process.stdout.write(JSON.stringify(process.argv[4] === "tiles"
  ? {onCall: board.onCallCount, busyOrWrapUp: board.busyOrWrapUpCount}
  : Object.keys(board.calls).sort()));
"""


def board_after(sync: dict, events: list[dict], what: str = "calls"):
    result = subprocess.run(
        ["node", "-e", HARNESS, str(SCRIPT), json.dumps(sync), json.dumps(events), what],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_call_moved_to_another_groups_queue_or_agent_leaves_the_wallboard():
    sync = {
        "agents": [{"id": 7, "name": "A", "state": "ready"}],
        "queues": [{"code": "a", "name": "A"}],
        "calls": [],
    }

    def call(uuid: str, **fields) -> dict:
        return {"type": "call", "call": {"uuid": uuid, **fields}}

    assert board_after(sync, [call("c-1", queue="a"), call("c-2", agent_id="7")]) == [
        "c-1",
        "c-2",
    ]
    # Transferred to group 2's queue, then to one of its agents: no longer ours.
    moved = [call("c-1", queue="a"), call("c-1", queue="b"), call("c-2", agent_id="9")]
    assert board_after(sync, moved) == []
    # Our agent took a call of another group's queue: ours while our agent has it.
    assert board_after(sync, [call("c-3", queue="b", agent_id="7")]) == ["c-3"]
    ended = {"type": "call_ended", "call": {"uuid": "c-3"}, "at": 0}
    assert board_after(sync, [call("c-3", queue="b", agent_id="7"), ended]) == []


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_an_agent_on_a_call_they_dialled_counts_as_on_a_call_not_busy():
    agents = [
        {"id": 1, "name": "A", "state": "talking"},
        {"id": 2, "name": "B", "state": "busy", "reason": "outbound"},
        {"id": 3, "name": "C", "state": "busy", "reason": "lunch"},
        {"id": 4, "name": "D", "state": "wrap_up"},
        {"id": 5, "name": "E", "state": "ready"},
    ]
    sync = {"agents": agents, "queues": [], "calls": []}
    assert board_after(sync, [], "tiles") == {"onCall": 2, "busyOrWrapUp": 2}
    # The dialled call ends: the agent's earlier status (here, ready) comes back.
    back = {"type": "agent", "agent_id": 2, "old": "busy", "state": "ready", "at": 0}
    assert board_after(sync, [back], "tiles") == {"onCall": 1, "busyOrWrapUp": 2}
