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
from ivr_scripts import runner as ivr
from ivr_scripts.esl_media import EslMedia
from ivr_scripts.lookups import HttpLookupClient, default_registry
from ivr_scripts.store import FlowSnapshotReader

if TYPE_CHECKING:
    from cti.calls.inbound import InboundCallHandler

logger = logging.getLogger(__name__)

# Survey key -> score, as the shipped survey flow scores them: 1 very satisfied (4) ...
# 4 problem unresolved (1).
SURVEY_SCORES = {"1": 4, "2": 3, "3": 2, "4": 1}


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
                f"1 1 2 5000 # {handler.prompt('survey_intro')} {handler.prompt('invalid_choice')} "
                f"{variable} [1-4] 3000",
            )
            digits = complete.variable(variable) or ""
            if digits in SURVEY_SCORES:
                session.execute("playback", handler.prompt("survey_thanks"))
                return SURVEY_SCORES[digits]
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
            session.execute("playback", handler.prompt("leave_message"))
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


class EngineIvr:
    """Runs the published IVR flows (ivr_scripts) inside the call's outbound socket."""

    def __init__(
        self,
        flows: FlowSnapshotReader,
        config,
        facts,
        prompts_dir: str,
        recordings_dir: str,
        lookup_url: str,
        lookup_token: str,
        fallback: BuiltinIvr,
    ) -> None:
        self.flows = flows
        self.config = config
        self.facts = facts
        self.prompts_dir = prompts_dir
        self.recordings_dir = recordings_dir
        self.http = HttpLookupClient(lookup_url, lookup_token, default_timeout=3.0)
        self.lookups = default_registry()
        self.fallback = fallback

    def _runner(self, facts) -> ivr.FlowRunner:
        return ivr.FlowRunner(
            flows=self.flows.current,
            config=self.config(),
            lookups=self.lookups,
            http=self.http,
            facts=facts,
            recordings_dir=self.recordings_dir,
        )

    def _run(self, handler: InboundCallHandler, context: ivr.CallContext, facts) -> ivr.RunResult:
        media = EslMedia(handler.session, self.prompts_dir)
        result = self._runner(facts).run(media, context)
        call = handler.call
        call.ivr_nodes.extend(result.path)
        call.digits.update({node: "".join(keys) for node, keys in result.digits.items()})
        call.language = result.language or call.language
        return result

    def run_flow(
        self, handler: InboundCallHandler, flow: str | None = None, node: str | None = None
    ) -> dict[str, Any]:
        call = handler.call
        code = flow or call.flow or ""
        if self.flows.current.flow(code) is None:
            return self.fallback.run_flow(handler, flow, node)
        if flow is None:
            context = ivr.CallContext.for_did(
                self.config(), call.destination_number, call.caller_number, call.uuid
            )
        else:
            context = ivr.CallContext.for_flow(
                code, call.uuid, call.caller_number, language=call.language
            )
        context.start_node = node
        result = self._run(handler, context, self.facts)
        outcome = result.outcome
        call.variables.update({k: v for k, v in result.variables.items() if k != "password"})
        if isinstance(outcome, ivr.Queue):
            return {
                "kind": "queue",
                "queue": outcome.queue,
                "priority": outcome.priority,
                "skills": {skill: 1 for skill in outcome.skills},
            }
        if isinstance(outcome, ivr.Transfer):
            if outcome.kind == "agent":
                agent = next(
                    (
                        a
                        for a in self.config().agents_by_id.values()
                        if a["employee_number"] == outcome.target
                    ),
                    None,
                )
                if agent is None:
                    return {"kind": "hangup", "prompt": handler.prompt("agent_unavailable")}
                return {"kind": "agent", "agent_id": agent["id"]}
            if outcome.kind == "queue":
                return {"kind": "queue", "queue": outcome.target}
            return {"kind": "number", "number": outcome.target}
        if isinstance(outcome, ivr.Hangup) and outcome.caller_hung_up:
            raise ChannelHangup("NORMAL_CLEARING", call.uuid)
        return {}  # voicemail recorded, survey answered, or the flow hung up

    def survey(self, handler: InboundCallHandler) -> int | None:
        if self.flows.current.flow(ivr.SURVEY_FLOW) is None:
            return self.fallback.survey(handler)
        call = handler.call
        context = ivr.CallContext.for_flow(
            ivr.SURVEY_FLOW, call.uuid, call.caller_number, language=call.language
        )
        # The daemon records the score itself, with the agent and queue the flow cannot know.
        outcome = self._run(handler, context, None).outcome
        return outcome.score if isinstance(outcome, ivr.Survey) else None

    def voicemail(self, handler: InboundCallHandler, outcome: dict[str, Any]) -> None:
        if self.flows.current.flow(ivr.VOICEMAIL_FLOW) is None:
            self.fallback.voicemail(handler, outcome)
            return
        call = handler.call
        context = ivr.CallContext.for_flow(
            ivr.VOICEMAIL_FLOW,
            call.uuid,
            call.caller_number,
            language=call.language,
            group=outcome.get("group"),
            queue=outcome.get("queue") or "",
        )
        self._run(handler, context, self.facts)
