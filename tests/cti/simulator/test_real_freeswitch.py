"""The fidelity drivers against a real FreeSWITCH (set FREESWITCH_ESL_URL to run them).

``FREESWITCH_ESL_URL`` looks like ``esl://:ClueCon@127.0.0.1:8021``. The call scenario also
needs ``sipp`` on the PATH and the fs-traces extensions (shared/fs-traces/setup) loaded.
These tests check that the drivers the simulator is held to describe the real switch.
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlparse

import pytest

from tests.cti.simulator.test_fidelity import (
    assert_channels_match,
    check_auth_ok_and_bad,
    drive_auth_ok_and_bad,
    load_trace,
    replies,
)
from tests.cti.simulator.tracetools import TRACES, EslConnection, traces_available

pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.skipif(not traces_available(), reason="fs-traces not available"),
]


def _target(url: str) -> tuple[str, int, str]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 8021, parsed.password or "ClueCon"


def test_auth_ok_and_bad_on_freeswitch(freeswitch_esl_url: str) -> None:
    host, port, password = _target(freeswitch_esl_url)
    check_auth_ok_and_bad(*drive_auth_ok_and_bad(host, port, password, heartbeat_timeout=25))


def test_inbound_answer_playback_hangup_on_freeswitch(freeswitch_esl_url: str) -> None:
    if shutil.which("sipp") is None:
        pytest.skip("sipp is not installed")
    host, port, password = _target(freeswitch_esl_url)
    connection = EslConnection.connect(host, port)
    connection.wait_for(lambda f: f.content_type == "auth/request")
    connection.command(f"auth {password}")
    connection.command("event plain ALL")
    scenario = TRACES / "setup" / "sipp" / "uac_wait_bye.xml"
    started = subprocess.run(
        [
            "sipp",
            "-sf",
            str(scenario),
            f"{host}:5060",
            "-s",
            "7001",
            "-m",
            "1",
            "-l",
            "1",
            "-i",
            "127.0.0.1",
            "-p",
            "5070",
            "-mp",
            "6000",
            "-timeout",
            "90",
            "-bg",
        ],
        timeout=120,
    )
    # In background mode sipp's parent exits with 99 (EXIT_OTHER) once the child runs.
    assert started.returncode == 99, started
    connection.wait_event("CHANNEL_DESTROY", timeout=30)
    connection.send("exit")
    connection.closed.wait(timeout=5)
    expected = load_trace("inbound_answer_playback_hangup", "inbound")
    actual = connection.observed()
    assert replies(actual) == replies(expected)
    assert_channels_match(expected, actual)
