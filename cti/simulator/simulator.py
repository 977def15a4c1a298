"""SwitchSimulator: the public entry point that wires the simulated FreeSWITCH together."""

from __future__ import annotations

from typing import Any

import gevent

from cti.simulator.api import ApiCommands
from cti.simulator.channel import Channel
from cti.simulator.clock import Clock
from cti.simulator.conference import ConferenceRegistry
from cti.simulator.dialplan import Dialplan
from cti.simulator.engine import Endpoint, Switch
from cti.simulator.esl_server import EventSocketServer, OutboundSockets
from cti.simulator.events import EventBus


class SwitchSimulator:
    """A simulated FreeSWITCH 1.10.12 reachable over a real Event Socket.

    ``dialplan_xml`` is one FreeSWITCH XML document (or a list of them) with contexts and
    extensions; ``speed`` scales simulated time (0.01 makes a 5 s prompt take 50 ms);
    ``heartbeat_interval`` is in simulated seconds (FreeSWITCH sends one every 20 s).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str = "ClueCon",
        dialplan_xml: str | list[str] | None = None,
        speed: float = 1.0,
        heartbeat_interval: float = 20.0,
        default_prompt_seconds: float = 2.0,
        sound_prefix: str = "",
        recordings_dir: str = "",
        hostname: str = "vm",
    ) -> None:
        self.host = host
        self.password = password
        self.clock = Clock(speed)
        self.bus = EventBus(self.clock, hostname=hostname)
        self.dialplan = Dialplan(dialplan_xml)
        self.switch = Switch(
            self.clock,
            self.bus,
            self.dialplan,
            default_prompt_seconds=default_prompt_seconds,
            sound_prefix=sound_prefix,
            recordings_dir=recordings_dir,
        )
        self.conferences = ConferenceRegistry(self.switch)
        self.api = ApiCommands(self.switch, self.conferences, hostname)
        self.switch.api_handler = self.api.execute
        self.switch.row_snapshot = self.api.snapshot_row
        self.outbound = OutboundSockets(self.switch, self.api)
        self.switch.socket_handler = self.outbound.run
        self.server = EventSocketServer(self.switch, self.api, host, port, password)
        self.heartbeat_interval = heartbeat_interval
        self._heartbeat: gevent.Greenlet | None = None
        self._started = False

    # -- life cycle --------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def speed(self) -> float:
        return self.clock.speed

    def start(self) -> SwitchSimulator:
        self.server.start()
        self._heartbeat = gevent.spawn(self._heartbeat_loop)
        self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self._heartbeat is not None:
            self._heartbeat.kill()
        for channel in list(self.switch.channels.values()):
            self.switch.hangup(channel, "MANAGER_REQUEST")
        self.outbound.stop()
        self.server.stop()
        gevent.killall(list(self.switch.greenlets), timeout=1)

    def __enter__(self) -> SwitchSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _heartbeat_loop(self) -> None:
        task_id = 1
        while True:
            self.clock.sleep(self.heartbeat_interval)
            uptime = self.switch.clock.now() - self.switch.started_at
            event = self.bus.create("HEARTBEAT")
            from cti.simulator.api import _uptime_text

            for name, value in [
                ("Event-Info", "System Ready"),
                ("Up-Time", _uptime_text(uptime)),
                ("FreeSWITCH-Version", "1.10.12-release~64bit"),
                ("Uptime-msec", str(int(uptime * 1000))),
                ("Session-Count", str(len(self.switch.channels))),
                ("Max-Sessions", "1000"),
                ("Session-Per-Sec", "30"),
                ("Session-Per-Sec-Last", "0"),
                ("Session-Per-Sec-Max", "0"),
                ("Session-Per-Sec-FiveMin", "0"),
                ("Session-Since-Startup", str(self.switch.sessions_since_startup)),
                ("Session-Peak-Max", str(self.switch.peak_sessions)),
                ("Session-Peak-FiveMin", "0"),
                ("Idle-CPU", "99.000000"),
            ]:
                event.add(name, value)
            self.bus.fire(event)
            schedule = self.bus.create("RE_SCHEDULE")
            schedule.add("Task-ID", str(task_id))
            schedule.add("Task-Desc", "heartbeat")
            schedule.add("Task-Group", "core")
            schedule.add("Task-Runtime", str(int(self.clock.now() + self.heartbeat_interval)))
            self.bus.fire(schedule)

    # -- scripting -----------------------------------------------------------------------
    def load_dialplan(self, xml: str) -> None:
        self.dialplan.load(xml)

    def add_endpoint(
        self,
        user: str,
        mode: str = "answer",
        answer_delay: float = 1.0,
        registered: bool = True,
        talk_time: float | None = None,
        port: int = 5080,
        **kwargs: Any,
    ) -> Endpoint:
        """Register a simulated phone (``user/<user>``, ``sofia/internal/<user>@...``)."""
        return self.switch.add_endpoint(
            Endpoint(
                user=user,
                mode=mode,
                answer_delay=answer_delay,
                registered=registered,
                talk_time=talk_time,
                port=port,
                **kwargs,
            )
        )

    def place_call(
        self,
        destination: str,
        caller_id_number: str = "caller",
        caller_id_name: str = "",
        context: str = "default",
        variables: dict[str, str] | None = None,
        party: Any = None,
        user: str | None = None,
        port: int = 5070,
        uuid: str | None = None,
    ) -> Channel:
        """An inbound SIP call to ``destination``; returns its channel at once."""
        return self.switch.inbound_call(
            destination,
            caller_id_number=caller_id_number,
            caller_id_name=caller_id_name,
            context=context,
            variables=variables,
            party=party,
            user=user,
            port=port,
            uuid=uuid,
        )

    def channel(self, uuid: str) -> Channel | None:
        return self.switch.locate(uuid)

    def send_dtmf(self, uuid: str, digits: str) -> None:
        channel = self.switch.locate(uuid)
        if channel is None:
            return
        for digit in digits:
            self.switch.receive_dtmf(channel, digit)

    def hangup(self, uuid: str, cause: str = "NORMAL_CLEARING") -> None:
        channel = self.switch.locate(uuid)
        if channel is not None:
            self.switch.hangup(channel, cause, by_peer=True)
