"""Shared builders for the engine tests: flows, snapshots, a recording fact sink."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cti.config import ConfigSnapshot
from ivr_scripts.flow import Flow
from ivr_scripts.lookups import LookupFailed
from ivr_scripts.store import FlowSnapshot, Notice

FLOWS_DIR = Path(__file__).resolve().parents[2] / "ivr_scripts" / "flows"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# A Wednesday at 10:00 in Shanghai: open on a Monday-Friday 9-17 calendar.
WEDNESDAY_10AM = dt.datetime(2024, 3, 6, 10, 0, tzinfo=SHANGHAI)


def shipped_flow(code: str) -> dict[str, Any]:
    return json.loads((FLOWS_DIR / f"{code}.json").read_text(encoding="utf-8"))


def library(*definitions: dict[str, Any], notices: tuple[Notice, ...] = ()) -> FlowSnapshot:
    flows = {d["code"]: Flow.from_dict(d, version=1) for d in definitions}
    return FlowSnapshot(version=1, flows=flows, notices=notices)


def weekday_calendar(calendar_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": calendar_id,
        "name": "office",
        "hours": [[day, "09:00", "17:00"] for day in range(5)],
        "holidays": extra.get("holidays", []),
        "exceptions": extra.get("exceptions", []),
    }


def config(
    blacklist: list[dict[str, Any]] | None = None,
    calendars: list[dict[str, Any]] | None = None,
    **data: Any,
) -> ConfigSnapshot:
    return ConfigSnapshot.from_data(
        {
            "version": 1,
            "blacklist": blacklist or [],
            "calendars": calendars if calendars is not None else [weekday_calendar()],
            "groups": data.get("groups", [{"id": 7, "name": "Hotline", "kind": "team"}]),
            "queues": data.get("queues", [{"code": "hotline_12329", "group": 7}]),
            "dids": data.get("dids", []),
        }
    )


class RecordingFacts:
    """A fact sink that keeps what the runner emits."""

    def __init__(self) -> None:
        self.facts: list[tuple[str, dict[str, Any]]] = []

    def ivr_path(self, **fields: Any) -> str:
        self.facts.append(("ivr_path", fields))
        return "1-0"

    def voicemail_left(self, **fields: Any) -> str:
        self.facts.append(("voicemail_left", fields))
        return "1-1"

    def survey_scored(self, **fields: Any) -> str:
        self.facts.append(("survey_scored", fields))
        return "1-2"

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.facts]

    def of(self, kind: str) -> dict[str, Any]:
        return next(fields for k, fields in self.facts if k == kind)


class FakeHousingFundApi:
    """Stands in for the Django lookup endpoints: same URLs, same answers."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.password = "123456"
        self.accounts = {
            "11010519491231002X": {"balance": "12345.67", "loans": []},
            "440304198001011239": {
                "balance": "800.00",
                "loans": [{"remaining": "250000.50", "monthly": "3210.05", "due": "2024-04-15"}],
            },
        }

    def call(self, url: str, params: dict[str, Any], timeout: float | None = None) -> dict:
        self.calls.append((url, dict(params)))
        if self.fail:
            raise LookupFailed("timed out")
        account = self.accounts.get(params["id_number"])
        if account is None or params["password"] != self.password:
            return {"found": False, "changed": False}
        if url == "deposit-balance/":
            return {"found": True, "balance": account["balance"]}
        if url == "loans/":
            loans = account["loans"]
            first = loans[0] if loans else {}
            return {
                "found": True,
                "loan_count": len(loans),
                "loan_remaining": first.get("remaining"),
                "loan_monthly_payment": first.get("monthly"),
                "loan_next_due_date": first.get("due"),
            }
        if url == "change-password/":
            self.password = params["new_password"]
            return {"found": True, "changed": True}
        raise LookupFailed(f"unknown url {url}")
