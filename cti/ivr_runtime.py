"""The daemon's bridge to the IVR engine, with the behaviour built into the daemon itself.

A DID names a flow. When the IVR engine (`ivr_scripts`) has a published flow of that name,
the engine runs it. When the flow's name is a queue code, the call goes straight to that
queue (a DID without self-service). The satisfaction survey and voicemail have built-in
versions so a center without custom flows still gets scores and messages.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cti.esl.outbound import ChannelHangup

if TYPE_CHECKING:
    from cti.calls.inbound import InboundCallHandler

logger = logging.getLogger(__name__)

SURVEY_SCORES = frozenset({1, 2, 3, 4})


class BuiltinIvr:
    """Queue routing by flow name, the survey and voicemail, without the flow engine."""

    def __init__(self, recordings_dir: str, voicemail_max_seconds: int = 120) -> None:
        self.recordings_dir = recordings_dir
        self.voicemail_max_seconds = voicemail_max_seconds

    def run_flow(
        self, handler: InboundCallHandler, flow: str | None = None, node: str | None = None
    ) -> dict[str, Any]:
        code = flow or handler.call.flow or ""
        if code in handler.services.config().queues_by_code:
            return {"kind": "queue", "queue": code}
        logger.error("call %s: no flow or queue named %r", handler.call.uuid, code)
        return {"kind": "hangup", "prompt": handler.prompt("system_busy")}

    def survey(self, handler: InboundCallHandler) -> int | None:
        """Press 1 very satisfied, 2 satisfied, 3 dissatisfied, 4 problem unresolved."""
        session = handler.session
        variable = "cc_survey_score"
        try:
            complete = session.execute(
                "play_and_get_digits",
                f"1 1 2 5000 # {handler.prompt('survey')} {handler.prompt('invalid_input')} "
                f"{variable} [1-4] 3000",
            )
            digits = complete.variable(variable) or ""
            if digits.isdigit() and int(digits) in SURVEY_SCORES:
                session.execute("playback", handler.prompt("survey_thanks"))
                return int(digits)
        except ChannelHangup:
            return None
        return None

    def voicemail(self, handler: InboundCallHandler, outcome: dict[str, Any]) -> None:
        session = handler.session
        call = handler.call
        day = datetime.now().strftime("%Y/%m/%d")
        path = os.path.join(self.recordings_dir, "voicemail", day, f"{call.uuid}.wav")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        started = time.time()
        try:
            session.execute("playback", handler.prompt("voicemail_greeting"))
            session.execute("record", f"{path} {self.voicemail_max_seconds} 200 3")
        except ChannelHangup:
            pass  # hanging up is how many callers end their message
        duration = max(0.0, time.time() - started)
        handler.services.facts.voicemail_left(
            call_uuid=call.uuid,
            path=path,
            duration=duration,
            caller=call.caller_number,
            group_id=outcome.get("group"),
        )
