"""Run the switch simulator in place of FreeSWITCH: `manage.py run_simulator [--demo-traffic]`.

The simulator executes the same public dialplan that `render_freeswitch_conf` writes for a
real FreeSWITCH (DIDs to the daemon's socket, failover ring group), and registers a
simulated phone for every enabled agent. With `--demo-traffic` it also logs the simulated
agents in, answers their calls after a few seconds, ends the talk after a random time, and
places Poisson-distributed callers on the first DID, so the wallboard has life in it.
Agents named with `--manual` keep a phone that only answers when the desk says so.
"""

from __future__ import annotations

import logging
import random
import signal

import gevent
import gevent.event
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from gevent import monkey

from cti.simulator.parties import TrafficGenerator
from cti.simulator.simulator import SwitchSimulator
from freeswitch_conf.render import PUBLIC_DIALPLAN_PATH, render_to_memory
from ivr.management.commands.render_freeswitch_conf import build_render_context
from telephony import models as telephony

logger = logging.getLogger("cti.simulator")


class Command(BaseCommand):
    help = "Run the FreeSWITCH simulator with the platform's dialplan and simulated phones."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.SIMULATOR_ESL_PORT)
        parser.add_argument("--speed", type=float, default=1.0)
        parser.add_argument("--demo-traffic", action="store_true")
        parser.add_argument("--calls-per-minute", type=float, default=6.0)
        parser.add_argument(
            "--manual",
            action="append",
            default=["1001"],
            metavar="EXTENSION",
            help="extensions whose phone answers only from the desk (default 1001)",
        )
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **options) -> None:
        if not monkey.is_module_patched("socket"):
            raise CommandError("run_simulator must be started through manage.py (gevent)")
        context = build_render_context(
            domain="callcenter.local", esl_password="ClueCon", prompt_root=settings.PROMPTS_DIR
        )
        dialplan = render_to_memory(context)[PUBLIC_DIALPLAN_PATH]
        simulator = SwitchSimulator(
            port=options["port"],
            dialplan_xml=dialplan,
            speed=options["speed"],
            recordings_dir=str(settings.RECORDINGS_DIR),
        )
        rng = random.Random(options["seed"])
        manual = set(options["manual"])
        agents = list(telephony.Agent.objects.filter(enabled=True).select_related("user"))
        for agent in agents:
            if agent.extension in manual:
                simulator.add_endpoint(agent.extension, mode="no_answer")
            else:
                simulator.add_endpoint(
                    agent.extension,
                    answer_delay=rng.uniform(2, 5),
                    talk_time=rng.uniform(30, 120) if options["demo_traffic"] else None,
                )
        simulator.start()
        self.stdout.write(f"FreeSWITCH simulator listening on 127.0.0.1:{simulator.port}")
        stopped = gevent.event.Event()
        gevent.signal_handler(signal.SIGTERM, stopped.set)
        gevent.signal_handler(signal.SIGINT, stopped.set)
        if options["demo_traffic"]:
            gevent.spawn(self._log_in_demo_agents, agents, manual)
            dids = telephony.DID.objects.filter(enabled=True).order_by("number")
            # A line without business hours, if there is one, has traffic reaching agents.
            did = dids.filter(calendar__isnull=True).first() or dids.first()
            if did is not None:
                traffic = TrafficGenerator(
                    simulator,
                    destination=did.number,
                    arrival_rate=options["calls_per_minute"] / 60.0,
                    handle_time=lambda r: r.uniform(120, 300),
                    seed=options["seed"],
                    caller_id_prefix="139",
                    # The shipped hotline flow: 0 is "talk to an agent", pressed while the
                    # main menu plays.
                    digits=lambda r: "0",
                    press_on_prompt="main_menu",
                    context="public",
                )
                traffic.start()
                self.stdout.write(
                    f"demo traffic: {options['calls_per_minute']} calls/minute to {did.number}"
                )
        stopped.wait()
        simulator.stop()

    def _log_in_demo_agents(self, agents, manual: set[str]) -> None:
        """Simulated agents log in and go ready, as people at their desks would."""
        import redis

        from cti.control.client import CommandClient
        from cti.control.protocol import Command

        client = CommandClient(
            redis.Redis.from_url(settings.REDIS_URL, decode_responses=True), timeout_seconds=10
        )
        gevent.sleep(3)  # let the daemon connect first
        for agent in agents:
            if agent.extension in manual or agent.user_id is None:
                continue
            reply = client.send(
                Command("login", user_id=agent.user_id, roles=("agent",), args={"ready": True})
            )
            if not reply.accepted:
                logger.warning("demo agent %s could not log in: %s", agent.extension, reply)
