"""What the CTI daemon needs to know about a caller, published to Redis.

The daemon never queries PostgreSQL (ARCHITECTURE rule 2), yet routing to the customer's
owner agent, VIP priority and the screen pop all start from the caller's number. So every
committed change to a customer or its numbers writes a small card — id, name, VIP level,
owner agent — under every spelling the switch may present the number in
(`cc:customer:phone:<caller id>`), and removes the cards of numbers that went away.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from config.redis import get_redis

CARD_PREFIX = "cc:customer:phone:"
INDEX_PREFIX = "cc:customer:cards:"  # customer id -> the card keys written for it
VIP_RANK = {"regular": 0, "silver": 1, "gold": 2, "platinum": 3}


def caller_id_spellings(e164_numbers: list[str]) -> set[str]:
    """How the switch may present each number as a caller ID: +86…, 86…, 0086…, national."""
    spellings: set[str] = set()
    for number in e164_numbers:
        spellings.add(number)
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            continue
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        spellings.update(
            {
                number.lstrip("+"),
                "00" + number.lstrip("+"),
                "".join(ch for ch in national if ch.isdigit()),
                str(parsed.national_number),
            }
        )
    return spellings


def publish_customer_card(customer_id: int) -> None:
    """Write (or remove) the cards of one customer; idempotent."""
    from crm.customers.models import Customer

    client = get_redis()
    index = f"{INDEX_PREFIX}{customer_id}"
    customer = Customer.objects.filter(pk=customer_id).first()
    old_keys: set[str] = set(client.smembers(index))  # type: ignore[arg-type]
    new_keys: set[str] = set()
    pipe = client.pipeline(transaction=True)
    if customer is not None:
        numbers = list(customer.phones.values_list("number", flat=True))
        card: dict[Any, Any] = {
            "id": str(customer.pk),
            "name": customer.name,
            "vip_level": str(VIP_RANK.get(customer.vip_level, 0)),
            "owner_agent_id": str(customer.owner_id or ""),
        }
        for spelling in caller_id_spellings(numbers):
            key = CARD_PREFIX + spelling
            new_keys.add(key)
            pipe.delete(key)
            pipe.hset(key, mapping=card)
    for key in old_keys - new_keys:
        pipe.delete(key)
    pipe.delete(index)
    if new_keys:
        pipe.sadd(index, *new_keys)
    pipe.execute()


def publish_all_customer_cards() -> int:
    from crm.customers.models import Customer

    count = 0
    for customer_id in Customer.objects.values_list("pk", flat=True).iterator():
        publish_customer_card(customer_id)
        count += 1
    return count


def _customer_changed(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    customer_id = getattr(instance, "customer_id", None) or instance.pk
    transaction.on_commit(lambda: publish_customer_card(customer_id))


def connect_signals() -> None:
    from crm.customers.models import Customer, CustomerPhone

    for model in (Customer, CustomerPhone):
        post_save.connect(_customer_changed, sender=model, dispatch_uid=f"card-save-{model}")
        post_delete.connect(_customer_changed, sender=model, dispatch_uid=f"card-del-{model}")
