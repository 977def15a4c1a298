"""Run the CTI daemon: `manage.py run_cti`."""

from __future__ import annotations

import gc
import logging
import signal

import gevent
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from gevent import monkey

from cti.daemon import Daemon, DaemonOptions
from cti.ivr_runtime import BuiltinIvr, EngineIvr
from cti.services import DaemonSettings
from ivr_scripts.store import FlowSnapshotReader

logger = logging.getLogger("cti")


def esl_urls() -> list[str]:
    """The configured FreeSWITCH nodes, or the local switch simulator."""
    if settings.FREESWITCH_ESL_URLS:
        return list(settings.FREESWITCH_ESL_URLS)
    return [f"esl://:ClueCon@127.0.0.1:{settings.SIMULATOR_ESL_PORT}"]


class Command(BaseCommand):
    help = "Run the CTI daemon (connects to FreeSWITCH or the simulator)."
    # The daemon never touches the database (it reads Redis), so no checks that would
    # open a connection in the main greenlet.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--node-name", default=settings.CTI_NODE_NAME)

    def handle(self, *args, **options) -> None:
        if not monkey.is_module_patched("socket"):
            raise CommandError("run_cti must be started through manage.py (gevent patching)")
        daemon_settings = DaemonSettings(
            node_name=options["node_name"],
            recordings_dir=str(settings.RECORDINGS_DIR),
            record_stereo=settings.RECORDING_STEREO,
            outbound_gateway=settings.OUTBOUND_GATEWAY,
            outbound_caller_id_number=settings.OUTBOUND_CALLER_ID_NUMBER,
            outbound_caller_id_name=settings.OUTBOUND_CALLER_ID_NAME,
            center_area_code=settings.CENTER_AREA_CODE,
            country=settings.CENTER_COUNTRY,
        )
        daemon = Daemon(
            DaemonOptions(
                redis_url=settings.REDIS_URL,
                esl_urls=esl_urls(),
                socket_host=settings.CTI_SOCKET_HOST,
                socket_port=settings.CTI_SOCKET_PORT,
                prompts_dir=str(settings.PROMPTS_DIR),
                settings=daemon_settings,
            ),
            ivr=None,  # type: ignore[arg-type]  (needs the daemon's Redis; set below)
        )
        flows = FlowSnapshotReader(daemon.redis)
        flows.refresh()
        daemon.services.ivr = EngineIvr(
            flows=flows,
            config=lambda: daemon.reader.current,
            facts=daemon.facts,
            prompts_dir=str(settings.PROMPTS_DIR),
            recordings_dir=str(settings.RECORDINGS_DIR),
            lookup_url=settings.IVR_LOOKUP_URL,
            lookup_token=settings.IVR_LOOKUP_TOKEN,
            fallback=BuiltinIvr(str(settings.RECORDINGS_DIR)),
        )
        daemon.watch(flows.watch)
        gevent.signal_handler(signal.SIGTERM, daemon.stopping.set)
        gevent.signal_handler(signal.SIGINT, daemon.stopping.set)
        self.stdout.write(f"CTI daemon {daemon_settings.node_name} starting")
        # Django, the settings and the daemon's own objects live as long as the process: keep
        # them out of the collector's full passes (each walked ~150,000 objects).
        gc.freeze()
        daemon.run()
