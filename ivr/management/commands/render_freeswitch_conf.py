"""Render the FreeSWITCH configuration from the telephony models and settings.

Agents (enabled) become directory users and the fallback ring group, DIDs (enabled) the
public dialplan; the daemon socket, recordings directory, Event Socket password and the
carrier trunk (TRUNK_REALM, TRUNK_USERNAME, TRUNK_PASSWORD, TRUNK_PROXY, TRUNK_REGISTER; the
gateway is named OUTBOUND_GATEWAY) come from settings/env (see docs/freeswitch.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from freeswitch_conf.render import (
    Agent,
    Did,
    EventSocket,
    Gateway,
    RenderContext,
    RenderError,
    RingGroup,
    render_all,
)
from ivr import services
from ivr_scripts.synthesis import prompt_path
from telephony import models as telephony


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, "") or default)


def trunk_gateways() -> list[Gateway]:
    """The carrier trunk from settings (TRUNK_REALM and friends), named OUTBOUND_GATEWAY as
    the daemon dials it; none when TRUNK_REALM is unset (then add the gateway by hand)."""
    realm = _setting("TRUNK_REALM", "")
    if not realm:
        return []
    username = _setting("TRUNK_USERNAME", "")
    register = _setting("TRUNK_REGISTER", "true" if username else "false").lower()
    return [
        Gateway(
            name=_setting("OUTBOUND_GATEWAY", "trunk"),
            realm=realm,
            username=username,
            password=_setting("TRUNK_PASSWORD", ""),
            proxy=_setting("TRUNK_PROXY", "") or None,
            register=register in ("1", "true", "yes", "on"),
        )
    ]


def build_render_context(
    *, domain: str, esl_password: str, prompt_root: Path, ring_timeout: int = 30
) -> RenderContext:
    """The render context for the current database: agents, DIDs, sockets, prompts."""
    agents = [
        Agent(
            extension=agent.extension,
            employee_number=agent.employee_number,
            name=agent.name,
            sip_password=agent.sip_password,
        )
        for agent in telephony.Agent.objects.filter(enabled=True).order_by("extension")
    ]
    dids = [
        Did(number=did.number, flow=did.flow, language=did.language)
        for did in telephony.DID.objects.filter(enabled=True).order_by("number")
    ]
    closing = {
        language: str(prompt_path(prompt_root, language, "closed")) for language in ("zh", "en")
    }
    return RenderContext(
        domain=domain,
        daemon_socket=f"{settings.CTI_SOCKET_HOST}:{settings.CTI_SOCKET_PORT}",
        dids=dids,
        agents=agents,
        ring_group=RingGroup(
            extensions=[agent.extension for agent in agents],
            call_timeout=ring_timeout,
            fallback="prompt",
            closing_prompt=closing["zh"],
            closing_prompts=closing,
        ),
        event_socket=EventSocket(password=esl_password),
        gateways=trunk_gateways(),
        recordings_dir=str(Path(settings.RECORDINGS_DIR).resolve()),
        record_stereo=bool(getattr(settings, "RECORDING_STEREO", False)),
    )


class Command(BaseCommand):
    help = "Render the FreeSWITCH XML configuration into a directory (a conf tree)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("output", type=Path, help="target conf directory")
        parser.add_argument("--domain", default=_setting("FREESWITCH_DOMAIN", "cc.local"))
        parser.add_argument(
            "--esl-password", default=_setting("FREESWITCH_ESL_PASSWORD", "ClueCon")
        )
        parser.add_argument("--prompt-root", type=Path, default=None)

    def handle(self, *args, output: Path, domain: str, esl_password: str, prompt_root, **options):
        context = build_render_context(
            domain=domain,
            esl_password=esl_password,
            prompt_root=(prompt_root or services.prompt_root()).resolve(),
        )
        try:
            written = render_all(context, output)
        except RenderError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{len(written)} file(s) written to {output}")
