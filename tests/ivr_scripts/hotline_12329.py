"""The 12329 hotline as the simulated-call tests script it: demo ID numbers, the flow's
prompt ids and node ids, and the call spec that runs it for DID 12329."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivr_scripts.lookups import HttpLookupClient, LookupRegistry, default_registry
from ivr_scripts.runner import CallContext, Hangup, Queue
from ivr_scripts.say import say
from ivr_scripts.store import Notice

from .helpers import WEDNESDAY_10AM, config, library, shipped_flow, weekday_calendar
from .simulated_calls import LOOKUP_TOKEN, CallSpec, StubLookupApi, demo_accounts

HOTLINE = shipped_flow("hotline_12329")
HOTLINE_DID = {"number": "12329", "flow": "hotline_12329", "language": "zh", "calendar": 1}
SPRING_FESTIVAL = ["Spring Festival", "2024-02-10", "2024-02-17"]

DEPOSIT_ID = "11010519491231002*"  # demo account ...002X (the X keyed as *): 12345.67, no loan
ONE_LOAN_ID = "440304198001011239"
TWO_LOANS_ID = "320102199003154560"
UNKNOWN_ID = "110101199003070011"  # a right check digit, but no account
BAD_CHECKSUM_ID = "110105194912310021"
TONE = "tone_stream://%(500,0,1000)"

AGENT_QUEUE = Queue("hotline_12329", 0, ("housing_fund",))
TOO_MANY_ERRORS = Hangup("too_many_errors")
CALLER_HUNG_UP = Hangup("caller_hung_up", caller_hung_up=True)

# Prompt ids of the 12329 flow.
W, M, IC = "welcome_12329", "main_menu", "invalid_choice"
ID, IID, PW, IPW = "enter_id_number", "invalid_id_number", "enter_password", "invalid_password"
NEW_PW, CONFIRM_PW = "enter_new_password", "confirm_new_password"
AGENT = "transferring_to_agent"
BYE_AFTER_ERRORS = ["too_many_errors", "goodbye"]
BALANCE = [
    "your_balance_is", "say/1", "say/10000", "say/liang", "say/1000", "say/3", "say/100",
    "say/4", "say/10", "say/5", "say/yuan", "say/6", "say/jiao", "say/7", "say/fen",
]  # fmt: skip

# Node ids of the 12329 flow.
MENU = ["welcome", "block", "hours", "main_menu"]
TO_PASSWORD = ["ask_id", "check_id", "id_valid", "ask_password", "route_service"]
DEPOSIT = ["deposit_start", *TO_PASSWORD, "deposit_lookup", "deposit_found"]
LOAN = ["loan_start", *TO_PASSWORD, "loan_lookup", "loan_found"]
PASSWORD = ["password_start", *TO_PASSWORD, "ask_new_password", "ask_confirm_password"]
BAD_ID_ROUND = ["ask_id", "check_id", "id_valid", "count_bad_id", "bad_id_limit"]


CREDENTIALS = {"id_number": "11010519491231002X", "password": "123456"}


def hotline_spec(
    api: StubLookupApi | None = None,
    *,
    at: dt.datetime = WEDNESDAY_10AM,
    blacklist: list[dict[str, Any]] | None = None,
    lookups: LookupRegistry | None = None,
    http: Any = None,
    notices: tuple[Notice, ...] = (),
) -> CallSpec:
    """The 12329 flow for DID 12329 (Monday-Friday 9-17, Spring Festival 2024 closed)."""
    snapshot = config(
        blacklist=blacklist,
        calendars=[weekday_calendar(holidays=[SPRING_FESTIVAL])],
        dids=[HOTLINE_DID],
    )
    if http is None and api is not None:
        # Real-second timeouts: a busy machine must not turn a slow answer into an error.
        http = HttpLookupClient(api.base_url, LOOKUP_TOKEN)
    return CallSpec(
        flows=library(HOTLINE, notices=notices),
        config=snapshot,
        context=lambda uuid, caller, number: CallContext.for_did(snapshot, number, caller, uuid),
        at=at,
        lookups=lookups if lookups is not None else default_registry(),
        http=http,
    )


def loan_words(id_number: str) -> list[str]:
    """What the 12329 flow reads for an account's loans (the demo data's sums and date)."""
    loans = demo_accounts()[id_number]["loans"]
    remaining = sum(loan["remaining"] for loan in loans)
    monthly = sum(loan["monthly"] for loan in loans)
    due = min(loan["due"] for loan in loans)
    return [
        "loan_remaining_is", *say("amount", remaining, "zh"),
        "loan_monthly_payment_is", *say("amount", monthly, "zh"),
        "loan_next_due_is", *say("date", due, "zh"),
    ]  # fmt: skip


CHANGE_THEN_QUERY = [
    (M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (NEW_PW, "654321#"),
    (CONFIRM_PW, "654321#"), (M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "654321#"), (M, "0"),
]  # fmt: skip
