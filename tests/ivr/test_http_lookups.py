"""The 12329 flow calling the real lookup endpoints over HTTP, with timeouts and failures."""

from __future__ import annotations

import socket

import pytest
from django.core.management import call_command

from ivr import services
from ivr_scripts.lookups import HttpLookupClient, LookupFailed, default_registry
from ivr_scripts.media import HANGUP, FakeMedia
from ivr_scripts.runner import CallContext, FlowRunner
from tests.ivr_scripts.helpers import WEDNESDAY_10AM, config, library, shipped_flow


@pytest.fixture
def api(live_server, transactional_db):
    call_command("seed_housing_fund_demo")
    return HttpLookupClient(f"{live_server.url}/api/ivr/lookup/", services.lookup_token())


def run_hotline(http, inputs):
    runner = FlowRunner(
        flows=library(shipped_flow("hotline_12329")), config=config(), lookups=default_registry(),
        http=http, clock=lambda: WEDNESDAY_10AM,
    )  # fmt: skip
    media = FakeMedia(inputs=list(inputs))
    result = runner.run(media, CallContext("c", "139", "hotline_12329", calendar_id=1))
    return result, media


def test_deposit_balance_over_http(api) -> None:
    result, media = run_hotline(api, ["1", "11010519491231002*", "123456#", HANGUP])
    assert result.variables["balance"] == "12345.67"
    heard = media.heard
    assert heard[heard.index("your_balance_is") + 1] == "say/1"


def test_loans_over_http(api) -> None:
    result, media = run_hotline(api, ["2", "320102199003154560", "123456#", HANGUP])
    assert result.variables["loan_count"] == 2
    assert "loan_next_due_is" in media.heard


def test_wrong_token_and_bad_input_raise(api) -> None:
    wrong = HttpLookupClient(api.base_url, "nope")
    with pytest.raises(LookupFailed, match="HTTP 40"):
        wrong.call("deposit-balance/", {"id_number": "11010519491231002X", "password": "1"})
    with pytest.raises(LookupFailed, match="HTTP 400"):
        api.call("deposit-balance/", {"id_number": "1"})


def test_unreachable_and_silent_endpoints_take_the_error_branch() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection but never answers
    host, port = listener.getsockname()
    try:
        silent = HttpLookupClient(f"http://{host}:{port}/", "t", default_timeout=0.3)
        result, media = run_hotline(silent, ["1", "11010519491231002*", "123456", HANGUP])
        assert "system_busy" in media.heard
        assert "timed out" in result.variables["lookup_error"]
    finally:
        listener.close()
    closed = HttpLookupClient(f"http://{host}:{port}/", "t", default_timeout=0.3)
    result, media = run_hotline(closed, ["1", "11010519491231002*", "123456", HANGUP])
    assert "system_busy_menu" in result.path
