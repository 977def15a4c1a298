"""The CDR of each leg (``leg_ended``): the caller, agents, supervisors, outside parties.

Every leg the daemon creates carries channel variables naming its call and its party
(:func:`leg_variables`); the caller's leg is marked by the public dialplan (``cc_flow``). Its
CHANNEL_HANGUP_COMPLETE on the inbound connection carries everything the CDR needs (the
times FreeSWITCH measured, the cause), so the fact is written from the event alone, by
whichever daemon leads; the persister's upsert by leg uuid makes a repeat harmless.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from cti.facts import FactWriter

logger = logging.getLogger(__name__)

CALL_VARIABLE = "cc_call_uuid"
PARTY_VARIABLE = "cc_party"
AGENT_VARIABLE = "cc_agent_id"
# Set on the caller's leg by the public dialplan (freeswitch_conf) before the socket app.
CALLER_MARK = "cc_flow"
# Characters that would end a {var=value} pair or an API's argument early.
_DIAL_STRING_BREAKERS = re.compile(r"[\s,{}\[\]'\"^]")


def leg_variables(call_uuid: str, party: str, agent_id: int | None = None) -> str:
    """``name=value`` pairs (comma-separated, for ``{...}`` or ``[...]``) tagging a leg."""
    pairs = [f"{CALL_VARIABLE}={call_uuid}", f"{PARTY_VARIABLE}={party}"]
    if agent_id is not None:
        pairs.append(f"{AGENT_VARIABLE}={agent_id}")
    return ",".join(pairs)


def trunk_caller_id(settings: Any, fallback: str | None = "globals") -> str:
    """``origination_caller_id_*`` pairs for a leg to the trunk: the company's number and
    name from the daemon's settings (the name is the number when only that is set: an empty
    name lets the agent's directory name through). Unset, ``fallback="globals"`` names the
    globals of FreeSWITCH's stock vars.xml, ``outbound_caller_id`` and
    ``outbound_caller_name`` (for a bridge's dial string, which the switch expands; an
    API's is not), another string is the number to show, None adds nothing (the leg shows
    what it inherits). Checked on 1.10.12: ``outbound_caller_id_number`` is no global, and
    an empty name showed the customer "Extension 1003"."""
    number = _DIAL_STRING_BREAKERS.sub("", settings.outbound_caller_id_number)
    name = _DIAL_STRING_BREAKERS.sub("", settings.outbound_caller_id_name)
    if not number:
        if fallback is None:
            return ""
        if fallback == "globals":
            number, name = "${outbound_caller_id}", "${outbound_caller_name}"
        else:
            number = fallback
    return f",origination_caller_id_number={number},origination_caller_id_name={name or number}"


def _microseconds(value: Any) -> float | None:
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        return None
    return number / 1e6 if number > 0 else None


class LegRecorder:
    def __init__(self, facts: FactWriter) -> None:
        self.facts = facts

    def on_hangup_complete(self, event: Any) -> None:
        leg_uuid = event.unique_id or ""
        call_uuid = event.variable(CALL_VARIABLE)
        party = event.variable(PARTY_VARIABLE)
        if call_uuid:
            party = party or "agent"
        elif event.variable(CALLER_MARK) is not None:
            call_uuid, party = leg_uuid, "caller"
        else:
            return  # not a leg of ours
        if not leg_uuid:
            return
        started = _microseconds(event.get("Caller-Channel-Created-Time"))
        number = (
            event.get("Caller-Caller-ID-Number")
            if party == "caller"
            else event.get("Caller-Destination-Number")
        )
        agent = event.variable(AGENT_VARIABLE)
        try:
            self.facts.leg_ended(
                leg_uuid=leg_uuid,
                call_uuid=call_uuid,
                party=party,
                number=number or "",
                started_at=started if started is not None else time.time(),
                hangup_cause=event.hangup_cause or "NORMAL_CLEARING",
                answered_at=_microseconds(event.get("Caller-Channel-Answered-Time")),
                agent_id=int(agent) if agent and agent.isdigit() else None,
            )
        except ValueError:  # a party the facts do not know: a tagging mistake of ours
            logger.exception("leg %s of call %s: no CDR", leg_uuid, call_uuid)
