"""State changes of the IVR app (check, do, notify — the publication happens on commit)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.rules import is_admin, is_supervisor
from ivr import models as m
from ivr.choices import VOICEMAIL_TRANSITIONS, FlowSource, VoicemailStatus
from ivr_scripts.flow import validate_flow
from ivr_scripts.synthesis import SynthesisError, missing_tools, synthesize_free_text
from telephony.choices import BlockAction, BlockCategory, Direction, MatchKind
from telephony.models import AgentGroup, BlacklistEntry

logger = logging.getLogger(__name__)

FLOWS_DIR = Path(settings.BASE_DIR) / "ivr_scripts" / "flows"


def lookup_token() -> str:
    """The shared secret of the internal lookup API (settings.IVR_LOOKUP_TOKEN)."""
    return settings.IVR_LOOKUP_TOKEN


def prompt_root() -> Path:
    """Where synthesized prompts go (settings.PROMPTS_DIR, var/prompts by default)."""
    return Path(settings.PROMPTS_DIR)


# -- flows -------------------------------------------------------------------------------------


def save_flow_version(
    definition: dict[str, Any],
    *,
    source: str = FlowSource.EDITOR,
    user: Any = None,
) -> tuple[m.FlowVersion, bool]:
    """Store ``definition`` as the flow's next version unless it equals the live one.

    Returns the live version and whether it was created. Raises ValidationError for an
    invalid definition.
    """
    problems = validate_flow(definition)
    if problems:
        raise ValidationError(problems, code="invalid_flow")
    checksum = m.definition_checksum(definition)
    with transaction.atomic():
        flow, _created = m.Flow.objects.select_for_update().get_or_create(
            code=definition["code"],
            defaults={
                "name": definition.get("name", definition["code"])[:100],
                "description": definition.get("description", ""),
            },
        )
        current = flow.versions.order_by("-number").first()
        if current is not None and current.checksum == checksum:
            return current, False
        if flow.name != definition.get("name", flow.name)[:100]:
            flow.name = definition["name"][:100]
            flow.save(update_fields=["name"])
        version = m.FlowVersion.objects.create(
            flow=flow,
            number=(current.number + 1) if current else 1,
            definition=definition,
            source=source,
            created_by=user,
        )
    return version, True


def load_flow_files(directory: Path = FLOWS_DIR) -> list[tuple[str, int, bool]]:
    """Load every ``*.json`` flow file as a new version when it changed: (code, version, new)."""
    results = []
    for path in sorted(directory.glob("*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        try:
            version, created = save_flow_version(definition, source=FlowSource.FILE)
        except ValidationError as error:
            raise ValidationError(f"{path.name}: {'; '.join(error.messages)}") from error
        results.append((version.flow.code, version.number, created))
    return results


# -- emergency notices --------------------------------------------------------------------------


def synthesize_notice(notice: m.EmergencyNotice, root: Path | None = None) -> str:
    """Synthesize a notice's text; returns the file path ('' when the tools are missing)."""
    missing = missing_tools()
    if missing:
        logger.warning("cannot synthesize notice %s: %s not installed", notice.pk, missing)
        return ""
    try:
        return str(synthesize_free_text(notice.text, notice.language, root or prompt_root()))
    except SynthesisError:
        logger.exception("synthesizing notice %s failed", notice.pk)
        return ""


def create_emergency_notice(
    *,
    text: str,
    language: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    flow_codes: Iterable[str] = (),
    user: Any = None,
    root: Path | None = None,
) -> m.EmergencyNotice:
    """Create a notice, synthesize it offline, and publish it (on commit) to the daemon."""
    if user is not None and not (is_admin(user) or is_supervisor(user)):
        raise PermissionDenied(_("Only supervisors and administrators post notices."))
    notice = m.EmergencyNotice(
        text=text.strip(), language=language, starts_at=starts_at, ends_at=ends_at, created_by=user
    )
    notice.full_clean(exclude=["flows", "audio_path"])
    flows = list(m.Flow.objects.filter(code__in=list(flow_codes)))
    unknown = set(flow_codes) - {f.code for f in flows}
    if unknown:
        raise ValidationError({"flows": _("Unknown flows: %s") % ", ".join(sorted(unknown))})
    notice.audio_path = synthesize_notice(notice, root)
    with transaction.atomic():
        notice.save()
        notice.flows.set(flows)
    return notice


# -- voicemail ---------------------------------------------------------------------------------


def record_voicemail(
    *,
    call_uuid: str,
    recording_path: str,
    duration_seconds: float,
    caller: str = "",
    group_id: int | None = None,
    queue: str = "",
    left_at: dt.datetime | None = None,
) -> m.VoicemailMessage:
    """Store a ``voicemail_left`` fact and notify the group's agents; idempotent per call.

    The fact persister calls this for each ``voicemail_left`` fact (replays are harmless).
    """
    with transaction.atomic():
        message, created = m.VoicemailMessage.objects.get_or_create(
            call_uuid=call_uuid,
            defaults={
                "caller": caller,
                "group_id": group_id
                if group_id is not None and AgentGroup.objects.filter(pk=group_id).exists()
                else None,
                "queue": queue,
                "recording_path": recording_path,
                "duration_seconds": Decimal(str(round(duration_seconds, 3))),
                "left_at": left_at or timezone.now(),
            },
        )
        if created and message.group_id is not None:
            users = (
                AgentGroup.objects.get(pk=message.group_id)
                .members.filter(enabled=True, user__isnull=False)
                .values_list("user_id", flat=True)
            )
            m.VoicemailNotification.objects.bulk_create(
                [m.VoicemailNotification(message=message, user_id=uid) for uid in set(users)],
                ignore_conflicts=True,
            )
    return message


def voicemails_for(user: Any):
    """The messages a user sees on the desk: their groups' (all for supervisors/admins)."""
    queryset = m.VoicemailMessage.objects.select_related("group")
    if is_admin(user) or is_supervisor(user):
        return queryset
    return queryset.filter(notifications__user=user).distinct()


def change_voicemail_status(message: m.VoicemailMessage, status: str, user: Any) -> None:
    """Move a message along new → heard → handled; marks the user's notification read."""
    if not voicemails_for(user).filter(pk=message.pk).exists():
        raise PermissionDenied(_("This message is not for you."))
    if status not in VOICEMAIL_TRANSITIONS.get(message.status, frozenset()):
        raise ValidationError(
            {"status": _("A %(old)s message cannot become %(new)s.")} | {},
            params={"old": message.status, "new": status},
            code="bad_transition",
        )
    now = timezone.now()
    with transaction.atomic():
        message.status = status
        if status == VoicemailStatus.HANDLED:
            message.handled_by = user
            message.handled_at = now
        message.save(update_fields=["status", "handled_by", "handled_at"])
        message.notifications.filter(user=user, read_at__isnull=True).update(read_at=now)


# -- harassment blocking ------------------------------------------------------------------------


def mark_harassing_number(
    *,
    user: Any,
    number: str,
    expires_at: dt.datetime,
    action: str = BlockAction.PLAY_NOTICE,
    reason: str = "",
) -> BlacklistEntry:
    """A supervisor blocks a harassing caller until ``expires_at``; the block lapses itself.

    An existing entry for the number is turned into a harassment block with the new expiry.
    """
    if not (is_admin(user) or is_supervisor(user)):
        raise PermissionDenied(_("Only supervisors and administrators block numbers."))
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The block must end in the future.")})
    entry = BlacklistEntry.objects.filter(
        pattern=number, match=MatchKind.EXACT, direction=Direction.INBOUND
    ).first() or BlacklistEntry(pattern=number, match=MatchKind.EXACT, direction=Direction.INBOUND)
    entry.category = BlockCategory.HARASSMENT
    entry.action = action
    entry.expires_at = expires_at
    entry.reason = reason or str(_("Harassing calls"))
    entry.created_by = entry.created_by or user
    entry.full_clean()
    entry.save()
    return entry


# -- 12329 demo lookups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LookupInput:
    id_number: str
    password: str


def _account(query: LookupInput) -> m.HousingFundAccount | None:
    account = m.HousingFundAccount.objects.filter(id_number=query.id_number).first()
    if account is None or not account.check_query_password(query.password):
        return None
    return account


def deposit_balance(query: LookupInput) -> dict[str, Any]:
    account = _account(query)
    if account is None:
        return {"found": False}
    return {"found": True, "balance": str(account.balance)}


def loan_summary(query: LookupInput) -> dict[str, Any]:
    account = _account(query)
    if account is None:
        return {"found": False}
    loans = list(account.loans.order_by("next_due_date"))
    result: dict[str, Any] = {"found": True, "loan_count": len(loans)}
    if loans:
        first = loans[0]
        result |= {
            "loan_remaining": str(sum((loan.remaining_principal for loan in loans), Decimal(0))),
            "loan_monthly_payment": str(sum((loan.monthly_payment for loan in loans), Decimal(0))),
            "loan_next_due_date": first.next_due_date.isoformat(),
        }
    return result


def change_query_password(query: LookupInput, new_password: str) -> dict[str, Any]:
    with transaction.atomic():
        account = _account(query)
        if account is None:
            return {"found": False, "changed": False}
        account.set_query_password(new_password)
        account.save(update_fields=["query_password", "updated_at"])
    return {"found": True, "changed": True}
