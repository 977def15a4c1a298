"""The stub lookup API the simulated-call tests use answers exactly what the live Django API
answers (ivr/api/), and the 12329 flow runs over the simulator against the live API itself.

Kept apart from test_flows_over_simulator.py: this is the only simulated-call test that needs
the database (the live server), whose setup costs seconds.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from ivr_scripts.lookups import HttpLookupClient

from .hotline_12329 import (
    AGENT,
    AGENT_QUEUE,
    BALANCE,
    CHANGE_THEN_QUERY,
    CONFIRM_PW,
    CREDENTIALS,
    ID,
    NEW_PW,
    ONE_LOAN_ID,
    PW,
    TWO_LOANS_ID,
    UNKNOWN_ID,
    M,
    W,
    hotline_spec,
    loan_words,
)
from .simulated_calls import LOOKUP_TOKEN, FlowHarness, StubLookupApi


@pytest.fixture
def harness(tmp_path):
    harness = FlowHarness(tmp_path, speed=0.01)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def api():
    api = StubLookupApi().start()
    try:
        yield api
    finally:
        api.stop()


def _post(base_url: str, endpoint: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        base_url + endpoint,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_stub_and_flows_against_the_live_api(harness, api, live_server, transactional_db) -> None:
    """One test, so the live server's database is set up and flushed once."""
    from django.core.management import call_command

    from ivr import services

    call_command("seed_housing_fund_demo")
    live_api, token = f"{live_server.url}/api/ivr/lookup/", services.lookup_token()
    # The stub's answers are the live API's, byte for byte once parsed.
    requests = [
        ("deposit-balance/", CREDENTIALS),
        ("deposit-balance/", {"id_number": "11010519491231002*", "password": "123456"}),
        ("deposit-balance/", {**CREDENTIALS, "password": "000000"}),
        ("deposit-balance/", {"id_number": UNKNOWN_ID, "password": "123456"}),
        ("loans/", {"id_number": ONE_LOAN_ID, "password": "123456"}),
        ("loans/", {"id_number": TWO_LOANS_ID, "password": "123456"}),
        ("loans/", CREDENTIALS),
        ("change-password/", {**CREDENTIALS, "password": "000000", "new_password": "222222"}),
        ("change-password/", {**CREDENTIALS, "new_password": "654321"}),
        ("deposit-balance/", {**CREDENTIALS, "password": "654321"}),
        ("change-password/", {**CREDENTIALS, "password": "654321", "new_password": "123456"}),
    ]
    for endpoint, body in requests:
        live = _post(live_api, endpoint, token, body)
        stub = _post(api.base_url, endpoint, LOOKUP_TOKEN, body)
        assert live == stub, (endpoint, body)
    # Refusals: same status and error code (the messages are DRF's wording).
    for endpoint, body, token_used in [
        ("deposit-balance/", {"id_number": "123", "password": "123456"}, None),
        ("loans/", {"id_number": ONE_LOAN_ID, "password": "12ab56"}, None),
        ("deposit-balance/", CREDENTIALS, "wrong-token"),
    ]:
        live = _post(live_api, endpoint, token_used or token, body)
        stub = _post(api.base_url, endpoint, token_used or LOOKUP_TOKEN, body)
        assert (live[0], live[1]["code"]) == (stub[0], stub[1]["code"]), (endpoint, body)
        if live[0] == 400:
            assert set(live[1]["fields"]) == set(stub[1]["fields"])
    # And the flow over the simulator against the live API itself.
    http = HttpLookupClient(live_api, token)
    call = harness.call(CHANGE_THEN_QUERY, hotline_spec(http=http))
    assert call.result.outcome == AGENT_QUEUE
    assert call.heard == [
        W, M, ID, PW, NEW_PW, CONFIRM_PW, "password_changed", "query_done", M, ID, PW,
        *BALANCE, "query_done", M, AGENT,
    ]  # fmt: skip
    loans = [(M, "2"), (ID, TWO_LOANS_ID + "#"), (PW, "123456#"), (M, "0")]
    call = harness.call(loans, hotline_spec(http=http))
    assert call.heard == [W, M, ID, PW, *loan_words(TWO_LOANS_ID), "query_done", M, AGENT]
