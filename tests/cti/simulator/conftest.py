"""Fixtures for the switch simulator tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cti.simulator import SwitchSimulator

# The recorded capture's dialplan: the stock `global` extension of FreeSWITCH's vanilla
# default.xml (continue="true": four `log` lines while default_password is 1234, three
# `hash` inserts and an `export` with a strftime expansion while endpoint_disposition is
# still DELAYED NEGOTIATION, i.e. not after a transfer; the capture had removed its
# `sleep`) and the fs-traces extensions 7000-7005 (shared/fs-traces/setup/10_fs_traces.xml).
FS_TRACES_DIALPLAN = (Path(__file__).parent / "fs_traces_dialplan.xml").read_text()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "freeswitch: runs against a real FreeSWITCH at FREESWITCH_ESL_URL"
    )


@pytest.fixture
def simulator() -> Iterator[SwitchSimulator]:
    """A running simulator with the fs-traces dialplan, 10x faster than real time."""
    sim = SwitchSimulator(dialplan_xml=FS_TRACES_DIALPLAN, speed=0.1)
    sim.switch.global_variables["fs_traces_socket_target"] = "127.0.0.1:8084"
    sim.switch.global_variables["default_password"] = "1234"
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def freeswitch_esl_url() -> str:
    url = os.environ.get("FREESWITCH_ESL_URL")
    if not url:
        pytest.skip("FREESWITCH_ESL_URL is not set")
    return url
