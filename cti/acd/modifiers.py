"""Routing modifiers: who is tried before the strategy, and how urgent a call is.

* 客户归属: a caller's owner agent is tried first when the queue allows it.
* 后续呼叫: the agent who served the caller last, within the queue's look-back days.
* Call priority = queue priority + VIP boost + long-distance boost.

All pure functions; :func:`is_long_distance` uses phonenumbers' offline metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType, geocoder

from cti.acd.strategies import AgentCandidate, Ordering, WaitingCall, is_eligible

SECONDS_PER_DAY = 86_400

_GEOGRAPHIC_TYPES = frozenset(
    {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)

# Local numbers tried after an area code to find a valid fixed line to geocode the code by.
_LOCAL_NUMBER_FILLERS = ("62345678", "6234567", "82345678", "8234567", "22345678", "2234567")


def call_priority(
    queue_priority: int,
    vip_level: int,
    vip_boost: int,
    long_distance: bool,
    long_distance_boost: int,
) -> int:
    """Queue priority, plus the VIP boost once per VIP level, plus the long-distance boost."""
    priority = queue_priority
    if vip_level > 0:
        priority += vip_boost * vip_level
    if long_distance:
        priority += long_distance_boost
    return priority


def _city(description: str) -> str:
    # geocoder's English text is "City, Province" (or just "City" for municipalities).
    return description.split(",")[0].strip().lower()


@lru_cache(maxsize=256)
def _area_city(area_code: str, country: str) -> str:
    """The English city name of a fixed-line area code, from phonenumbers' geocoding data."""
    for filler in _LOCAL_NUMBER_FILLERS:
        try:
            number = phonenumbers.parse("0" + area_code + filler, country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            description = geocoder.description_for_number(number, "en")
            if description:
                return _city(description)
    return ""


def _matches_center(number: phonenumbers.PhoneNumber, center: str, country: str) -> bool:
    """Does a valid number belong to the center's area (an area code or a city name)?"""
    number_type = phonenumbers.number_type(number)
    if number_type not in _GEOGRAPHIC_TYPES:
        # Toll-free, shared-cost (400) and similar numbers say nothing about where one is.
        return True
    digits = center.lstrip("0")
    center_is_code = digits.isdigit()
    if number_type == PhoneNumberType.FIXED_LINE:
        if center_is_code:
            significant = phonenumbers.national_significant_number(number)
            length = phonenumbers.length_of_geographical_area_code(number)
            return length > 0 and significant[:length] == digits
    english = geocoder.description_for_number(number, "en")
    if not english:
        # A number block without geographic data: nothing says it is far away.
        return True
    if center_is_code:
        return _city(english) == _area_city(digits, country)
    chinese = geocoder.description_for_number(number, "zh")
    return _city(english) == center.strip().lower() or (bool(center) and center in chinese)


@lru_cache(maxsize=65_536)
def is_long_distance(number: str, center_area_code: str, country: str = "CN") -> bool:
    """True when the caller is outside the center's area.

    ``center_area_code`` is an area code ("010", "0755") or a city ("Beijing", "北京").
    Fixed lines compare by area code, mobiles by the region their number block belongs to.
    Numbers abroad are long distance; numbers that do not parse as a valid national number
    (extensions, short codes, local numbers dialed without an area code) are not.
    """
    try:
        parsed = phonenumbers.parse(number, country)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(parsed):
        return False
    if parsed.country_code != phonenumbers.country_code_for_region(country):
        return True
    return not _matches_center(parsed, center_area_code, country)


def preferred_agents(
    call: WaitingCall,
    *,
    route_to_owner_agent: bool,
    last_agent_lookback_days: int,
    now: float,
) -> list[tuple[int, str]]:
    """The agents to try before the strategy, with the reason for each: owner, then last."""
    preferred: list[tuple[int, str]] = []
    if route_to_owner_agent and call.owner_agent_id is not None:
        preferred.append((call.owner_agent_id, "owner_agent"))
    if (
        last_agent_lookback_days > 0
        and call.last_agent_id is not None
        and call.last_served_at is not None
        and now - call.last_served_at <= last_agent_lookback_days * SECONDS_PER_DAY
        and call.last_agent_id != call.owner_agent_id
    ):
        preferred.append((call.last_agent_id, "last_agent"))
    return preferred


def apply_preferred(
    call: WaitingCall,
    ordering: Ordering,
    candidates: Sequence[AgentCandidate],
    preferred: Sequence[tuple[int, str]],
    now: float,
) -> tuple[Ordering, str]:
    """Put the first eligible preferred agent ahead of the strategy's ordering.

    Returns the ordering to reserve from and the reason ("owner_agent", "last_agent" or
    "strategy"). A preferred agent who is not ready (or lacks the skills) is skipped, so the
    call falls back to the strategy. A preferred agent is offered the call alone, even in a
    ring-all queue: the point is that this agent gets it.
    """
    by_id = {agent.id: agent for agent in candidates}
    for agent_id, reason in preferred:
        agent = by_id.get(agent_id)
        if agent is not None and is_eligible(agent, call, now):
            rest = tuple(other for other in ordering.agent_ids if other != agent_id)
            if ordering.ring_together:
                rest = ()
            return (
                replace(ordering, agent_ids=(agent_id, *rest), ring_together=False),
                reason,
            )
    return ordering, "strategy"
