"""What the desk does: send call-control requests, build the screen pop, list the work to do.

Views and the websocket consumer are thin adapters over these functions. Call control never
changes state here: every request goes to the daemon through the command stream and the desk
shows the daemon's reply (ARCHITECTURE rule 1).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import redis
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.customers.models import Customer
from crm.customers.services import find_customer_by_phone, normalize_phone, screen_pop_fields
from crm.records.models import ServiceCategory, ServiceRecord
from cti.control.client import CommandClient
from cti.control.protocol import AGENT_ACTIONS, Command, Reason, Reply
from cti.models import CallRecord, QueueEntry, QueueOutcome
from desk.models import ReturnedCall
from telephony.models import SYSTEM_BUSY_REASONS, Agent, BusyReason, Queue

CARD_HISTORY = 10
POP_KEY = "cc:desk:pop:"
POP_TTL_SECONDS = 3600
RETURN_LOOKBACK_DAYS = 7

# Not a daemon code: the web tier could not reach Redis to ask.
UNAVAILABLE = "unavailable"

# The daemon's stable rejection codes, said for people (cti.control.protocol.Reason).
REASON_MESSAGES = {
    UNAVAILABLE: gettext_lazy("The call-control service cannot be reached."),
    Reason.UNKNOWN_ACTION: gettext_lazy("The call-control service does not offer this yet."),
    Reason.BAD_ARGUMENTS: gettext_lazy("The request is incomplete or malformed."),
    Reason.NOT_AN_AGENT: gettext_lazy("Your account is not linked to an agent seat."),
    Reason.NOT_YOUR_CALL: gettext_lazy("This call is not yours."),
    Reason.NOT_YOUR_AGENT: gettext_lazy("This agent is not in a group you supervise."),
    Reason.NOT_A_SUPERVISOR: gettext_lazy("Only supervisors may do this."),
    Reason.NO_CALL: gettext_lazy("There is no call on this seat."),
    Reason.ILLEGAL_STATE: gettext_lazy("Not possible in the current state."),
    Reason.ADOPTED_CALL: gettext_lazy(
        "This call went on across a restart of the call-control service: it can be held, "
        "resumed and hung up, not transferred or conferenced."
    ),
    Reason.BLACKLISTED: gettext_lazy("This number may not be called."),
    Reason.SWITCH_ERROR: gettext_lazy("The telephone switch refused the request."),
    Reason.NOT_REGISTERED: gettext_lazy("Your phone is not registered."),
    Reason.TIMEOUT: gettext_lazy("The call-control service did not answer in time."),
    Reason.UNKNOWN_TARGET: gettext_lazy("No such destination."),
}


def reason_message(code: str) -> str:
    """The rejection code said for people; unknown codes are shown as they are."""
    message = REASON_MESSAGES.get(code)
    return str(message) if message is not None else code


@dataclass(frozen=True)
class DeskReply:
    """A daemon reply ready for the page: the human message is in the user's language."""

    accepted: bool
    code: str
    message: str
    detail: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
            "data": self.data,
        }


def present_reply(reply: Reply) -> DeskReply:
    if reply.accepted:
        return DeskReply(True, reply.code, _("Done."), reply.message, reply.data)
    return DeskReply(False, reply.code, reason_message(reply.code), reply.message, reply.data)


def command_client(redis_url: str, timeout_seconds: float) -> CommandClient:
    """A command client whose socket outlives the reply wait (BLPOP blocks that long)."""
    connection = redis.Redis.from_url(
        redis_url, decode_responses=True, socket_timeout=timeout_seconds + 5
    )
    return CommandClient(connection, timeout_seconds=timeout_seconds)


def send_command(
    client: CommandClient, user, action: str, args: dict[str, Any] | None = None
) -> DeskReply:
    """Send one request as `user` (roles included: the daemon authorizes) and wait.

    Redis trouble is a reply too (never an error page): the desk shows it like a rejection.
    """
    command = Command(action, user_id=user.pk, roles=tuple(sorted(user.roles)), args=args or {})
    try:
        reply = client.send(command)
    except redis.RedisError as error:
        return DeskReply(False, UNAVAILABLE, str(REASON_MESSAGES[UNAVAILABLE]), str(error), {})
    return present_reply(reply)


def is_agent_action(action: str) -> bool:
    return action in AGENT_ACTIONS


# --- the seat -----------------------------------------------------------------------------


def agent_of(user) -> Agent | None:
    try:
        return Agent.objects.get(user=user, enabled=True)
    except Agent.DoesNotExist:
        return None


def busy_reasons(include_system: bool = False) -> list[dict[str, str]]:
    """The configured busy reasons (code, name in the user's language): those an agent may
    choose, or with ``include_system`` also those the system sets (no answer, outbound
    call...), for naming the agent's current reason."""
    english = (translation.get_language() or "").startswith("en")
    reasons = BusyReason.objects.filter(enabled=True)
    if not include_system:
        reasons = reasons.filter(system=False)
    return [{"code": r.code, "name": (r.name_en or r.name) if english else r.name} for r in reasons]


def busy_reason_names() -> dict[str, str]:
    """Code -> name of every enabled busy reason, system ones included: how the desk and the
    wallboard name an agent's current reason ("outbound" reads 外呼). A reason the daemon
    sets keeps its built-in name when its row is missing or disabled."""
    english = (translation.get_language() or "").startswith("en")
    names = {code: en if english else zh for code, (zh, en) in SYSTEM_BUSY_REASONS.items()}
    names.update((reason["code"], reason["name"]) for reason in busy_reasons(include_system=True))
    return names


def transfer_targets(agent: Agent) -> dict[str, list[dict[str, str]]]:
    """Agents and queues the desk offers as transfer targets."""
    agents = [
        {"value": str(a.pk), "label": f"{a.name} ({a.employee_number})"}
        for a in Agent.objects.filter(enabled=True).exclude(pk=agent.pk).order_by("name")
    ]
    queues = [
        {"value": q.code, "label": q.name} for q in Queue.objects.order_by("name").only("code")
    ]
    return {"agent": agents, "queue": queues}


# --- screen pop ---------------------------------------------------------------------------


def remember_pop(client: redis.Redis, event: dict[str, Any]) -> None:
    """Keep the last screen pop of an agent so a reloaded page shows it again."""
    client.set(
        f"{POP_KEY}{event['agent_id']}", json.dumps(event, ensure_ascii=False), ex=POP_TTL_SECONDS
    )


def remembered_pop(client: redis.Redis, agent_id: int, call_uuid: str) -> dict[str, Any] | None:
    raw = client.get(f"{POP_KEY}{agent_id}")
    if not raw:
        return None
    event = json.loads(raw)
    return event if event.get("call_uuid") == call_uuid else None


def customer_card(customer: Customer) -> dict[str, Any]:
    """What the desk shows about a customer: identity, pop fields, recent records and calls."""
    numbers = list(customer.phones.values_list("number", flat=True))
    records = (
        ServiceRecord.objects.filter(customer=customer)
        .select_related("status", "category__parent__parent", "agent")
        .order_by("-created_at")[:CARD_HISTORY]
    )
    callers = set(numbers) | {n.removeprefix("+86") for n in numbers}
    calls = CallRecord.objects.filter(caller__in=callers).order_by("-started_at")[:CARD_HISTORY]
    agent_names = dict(
        Agent.objects.filter(pk__in={c.agent_id for c in calls if c.agent_id}).values_list(
            "pk", "name"
        )
    )
    return {
        "customer": customer,
        "numbers": numbers,
        "pop_fields": screen_pop_fields(customer),
        "records": list(records),
        "calls": [(call, agent_names.get(call.agent_id or 0, "")) for call in calls],
    }


def card_for_number(number: str) -> dict[str, Any] | None:
    customer = find_customer_by_phone(number)
    return customer_card(customer) if customer is not None else None


def normalized_or_raw(number: str) -> str:
    try:
        return normalize_phone(number)
    except Exception:  # the new-customer form shows the number as the caller ID gave it
        return number


# --- service records ----------------------------------------------------------------------


def categories_under(parent_id: int | None) -> list[ServiceCategory]:
    """Active children of a category (roots when `parent_id` is None)."""
    return list(ServiceCategory.objects.filter(parent_id=parent_id, active=True))


# --- calls to return ----------------------------------------------------------------------


@dataclass(frozen=True)
class CallToReturn:
    """An abandoned call or a callback request of the agent's queues, not yet returned."""

    call_uuid: str
    queue: str
    outcome: str
    outcome_label: str
    caller: str
    entered_at: dt.datetime
    wait_seconds: float | None


def calls_to_return(agent: Agent, now: dt.datetime | None = None) -> list[CallToReturn]:
    """Abandoned calls and callback requests of the queues served by the agent's groups."""
    now = now or timezone.now()
    queues = list(
        Queue.objects.filter(group__members=agent).values_list("code", flat=True).distinct()
    )
    entries = list(
        QueueEntry.objects.filter(
            queue__in=queues,
            outcome__in=(QueueOutcome.ABANDONED, QueueOutcome.CALLBACK),
            entered_at__gte=now - dt.timedelta(days=RETURN_LOOKBACK_DAYS),
        )
        .exclude(call_uuid__in=ReturnedCall.objects.values("call_uuid"))
        .order_by("-entered_at")[:100]
    )
    callers = dict(
        CallRecord.objects.filter(call_uuid__in=[e.call_uuid for e in entries]).values_list(
            "call_uuid", "caller"
        )
    )
    seen: set[str] = set()
    result = []
    for entry in entries:
        if entry.call_uuid in seen:
            continue
        seen.add(entry.call_uuid)
        result.append(
            CallToReturn(
                call_uuid=entry.call_uuid,
                queue=entry.queue,
                outcome=entry.outcome,
                outcome_label=str(entry.get_outcome_display()),
                caller=callers.get(entry.call_uuid, ""),
                entered_at=entry.entered_at,
                wait_seconds=entry.wait_seconds,
            )
        )
    return result


def mark_call_returned(*, call_uuid: str, user, note: str = "") -> ReturnedCall:
    """Record that someone returned the call (idempotent: the first one counts)."""
    with transaction.atomic():
        returned, _created = ReturnedCall.objects.get_or_create(
            call_uuid=call_uuid, defaults={"returned_by": user, "note": note[:200]}
        )
    return returned
