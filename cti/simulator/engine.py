"""The simulated switch core: sessions, dialplan execution, applications, originate, bridge."""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

from cti.simulator import media
from cti.simulator.channel import HANGUP_CAUSE_CODES, CallerProfile, Channel
from cti.simulator.clock import Clock
from cti.simulator.dialplan import Dialplan, expand_variables
from cti.simulator.events import CALLING_SITES, EventBus, SwitchEvent, random_uuid

DEFAULT_HOLD_MUSIC = "tone_stream://%(400,200,400,450);%(400,2000,400,450);loops=-1"

# Causes with which the bridge application never hangs up its caller (switch_channel_handle_cause).
ALWAYS_CONTINUE_CAUSES = {"NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL"}


@dataclass
class Endpoint:
    """A simulated SIP phone or outside number the switch can ring.

    ``mode`` is ``answer`` (after ``answer_delay`` seconds), ``no_answer`` (rings forever),
    ``busy`` (486), ``reject`` (603) or ``unreachable`` (nothing listening). An endpoint
    with ``registered=False`` makes ``user/<ext>`` fail with USER_NOT_REGISTERED.
    ``talk_time`` hangs the answered leg up after that many seconds.
    """

    user: str
    mode: str = "answer"
    answer_delay: float = 1.0
    registered: bool = True
    talk_time: float | None = None
    host: str = "127.0.0.1"
    port: int = 5080
    on_answer: Callable[[Channel], None] | None = None
    dtmf_script: list[tuple[float, str]] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return any(channel.up for channel in self.channels)


def switch_regex_match(target: str, expression: str) -> bool:
    """switch_regex_match: a PCRE search, not anchored (``\\d`` accepts ``12``), with the
    ``/expression/flags`` form (``i`` caseless, ``s`` dot-all)."""
    flags = 0
    if expression.startswith("/"):
        body, slash, options = expression[1:].rpartition("/")
        if not slash:
            return False  # FreeSWITCH logs the missing delimiter and matches nothing
        expression = body
        flags |= re.IGNORECASE if "i" in options else 0
        flags |= re.DOTALL if "s" in options else 0
    try:
        return re.search(expression, target, flags) is not None
    except re.error:
        return False


class OriginateError(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class Switch:
    """Channels, applications and commands; everything the ESL layer drives."""

    def __init__(
        self,
        clock: Clock,
        bus: EventBus,
        dialplan: Dialplan,
        default_prompt_seconds: float = 2.0,
        sound_prefix: str = "",
        recordings_dir: str = "",
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.dialplan = dialplan
        self.default_prompt_seconds = default_prompt_seconds
        self.sound_prefix = sound_prefix
        self.recordings_dir = recordings_dir
        self.channels: dict[str, Channel] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.gateway_default = Endpoint(user="gateway", mode="answer", answer_delay=2.0)
        self.global_variables: dict[str, str] = {
            "hold_music": DEFAULT_HOLD_MUSIC,
            "domain": "127.0.0.1",
            "domain_name": "127.0.0.1",
            "sound_prefix": sound_prefix,
            # The stock vars.xml's caller ID for calls to trunks.
            "outbound_caller_name": "FreeSWITCH",
            "outbound_caller_id": "0000000000",
        }
        self.started_at = clock.now()
        self.sessions_since_startup = 0
        self.peak_sessions = 0
        self.session_counter = 0
        self.socket_handler: Callable[[Channel, str], None] | None = None
        self.api_handler: Callable[[str, str, Channel | None], tuple[bool, str]] | None = None
        self.conferences: dict[str, Any] = {}
        self.row_snapshot: Callable[[Channel], None] | None = None
        # `show channels` reads FreeSWITCH's core database, which lags the events: a
        # destroyed channel stays listed this long (real seconds, like the database thread
        # it models) after CHANNEL_DESTROY.
        self.database_lag = 0.1
        self._recently_destroyed: list[Channel] = []
        self.greenlets: set[gevent.Greenlet] = set()
        self.applications: dict[str, Callable[[Channel, str], None]] = {
            "answer": self.app_answer,
            "pre_answer": self.app_pre_answer,
            "ring_ready": self.app_ring_ready,
            "playback": self.app_playback,
            "play_and_get_digits": self.app_play_and_get_digits,
            "park": self.app_park,
            "hangup": self.app_hangup,
            "sleep": self.app_sleep,
            "set": self.app_set,
            "multiset": self.app_multiset,
            "export": self.app_export,
            "unset": self.app_unset,
            "log": self.app_noop,
            "hash": self.app_noop,
            "info": self.app_noop,
            "bridge": self.app_bridge,
            "socket": self.app_socket,
            "record_session": self.app_record_session,
            "stop_record_session": self.app_stop_record_session,
            "record": self.app_record,
            "transfer": self.app_transfer,
            "eavesdrop": self.app_eavesdrop,
            "conference": self.app_conference,
            "echo": self.app_echo,
            "voicemail": self.app_voicemail,
        }

    # ------------------------------------------------------------------ helpers
    def spawn(self, function: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        greenlet = gevent.spawn(function, *args)
        self.greenlets.add(greenlet)
        greenlet.link(lambda g: self.greenlets.discard(g))
        return greenlet

    def new_uuid(self) -> str:
        return random_uuid()

    def locate(self, uuid: str) -> Channel | None:
        channel = self.channels.get(uuid)
        return channel if channel is not None else None

    def expand(self, channel: Channel | None, text: str) -> str:
        def lookup(name: str) -> str | None:
            if channel is not None and name in channel.variables:
                return channel.variables[name]
            if channel is not None:
                special = self._channel_field(channel, name)
                if special is not None:
                    return special
            return self.global_variables.get(name)

        def api(command: str, argument: str) -> str:
            if self.api_handler is None:
                return ""
            _, output = self.api_handler(command, argument, channel)
            return output

        return expand_variables(text, lookup, api)

    def _channel_field(self, channel: Channel, name: str) -> str | None:
        profile = channel.caller_profile
        if profile is None:
            return None
        fields = {
            "destination_number": profile.destination_number,
            "caller_id_number": profile.caller_id_number,
            "caller_id_name": profile.caller_id_name,
            "ani": profile.ani,
            "context": profile.context,
            "network_addr": profile.network_addr,
            "uuid": channel.uuid,
            "username": profile.username,
        }
        return fields.get(name)

    def fire_api_event(self, command: str, argument: str) -> None:
        event = self.bus.create("API")
        event.add("API-Command", command)
        if argument:
            event.add("API-Command-Argument", argument)
        self.bus.fire(event)

    # ------------------------------------------------------------------ channel life
    def _register(self, channel: Channel) -> None:
        self.channels[channel.uuid] = channel
        self.sessions_since_startup += 1
        self.session_counter += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        channel.set_variable("session_id", self.session_counter)

    def inbound_call(
        self,
        destination: str,
        caller_id_number: str = "caller",
        caller_id_name: str = "",
        context: str = "default",
        variables: dict[str, str] | None = None,
        uuid: str | None = None,
        user: str | None = None,
        host: str = "127.0.0.1",
        port: int = 5070,
        party: Any = None,
    ) -> Channel:
        """A SIP call arrives from ``caller_id_number`` for ``destination``."""
        user = user or caller_id_number
        channel = Channel(
            self.bus,
            self.clock,
            uuid or self.new_uuid(),
            f"sofia/internal/{user}@{host}:{port}",
            "inbound",
        )
        channel.party = party
        self.spawn(
            self._inbound_session,
            channel,
            destination,
            caller_id_number,
            caller_id_name or caller_id_number,
            context,
            variables or {},
            user,
            host,
            port,
        )
        return channel

    def _sip_inbound_variables(
        self,
        channel: Channel,
        user: str,
        host: str,
        port: int,
        destination: str,
        caller_id_name: str,
    ) -> None:
        now_us = str(self.clock.now_us())
        call_id = f"{random_uuid()[:8]}@{host}"
        sdp = (
            f"v=0\r\no={user} 53655765 2353687637 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\n"
            "t=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
        )
        values = [
            ("direction", "inbound"),
            ("uuid", channel.uuid),
            ("call_uuid", channel.uuid),
            ("session_id", channel.variables.get("session_id", "1")),
            ("sip_from_user", user),
            ("sip_from_port", str(port)),
            ("sip_from_uri", f"{user}@{host}:{port}"),
            ("sip_from_host", host),
            ("video_media_flow", "disabled"),
            ("audio_media_flow", "disabled"),
            ("text_media_flow", "disabled"),
            ("channel_name", channel.name),
            ("sip_call_id", call_id),
            ("sip_local_network_addr", "127.0.0.1"),
            ("sip_network_ip", host),
            ("sip_network_port", str(port)),
            ("sip_invite_stamp", now_us),
            ("sip_received_ip", host),
            ("sip_received_port", str(port)),
            ("sip_via_protocol", "udp"),
            ("sip_authorized", "true"),
            ("sip_acl_authed_by", "loopback.auto"),
            ("sip_from_user_stripped", user),
            ("sip_from_tag", random_uuid().replace("-", "")[:12]),
            ("sofia_profile_name", "internal"),
            ("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5060"),
            ("recovery_profile_name", "internal"),
            (
                "sip_full_via",
                f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{random_uuid()[:8]}",
            ),
            ("sip_from_display", caller_id_name),
            ("sip_full_from", f'"{caller_id_name}" <sip:{user}@{host}:{port}>'),
            ("sip_full_to", f"<sip:{destination}@127.0.0.1:5060>"),
            ("sip_req_user", destination),
            ("sip_req_port", "5060"),
            ("sip_req_uri", f"{destination}@127.0.0.1:5060"),
            ("sip_req_host", "127.0.0.1"),
            ("sip_to_user", destination),
            ("sip_to_port", "5060"),
            ("sip_to_uri", f"{destination}@127.0.0.1:5060"),
            ("sip_to_host", "127.0.0.1"),
            ("sip_contact_user", user),
            ("sip_contact_port", str(port)),
            ("sip_contact_uri", f"{user}@{host}:{port}"),
            ("sip_contact_host", host),
            ("rtp_use_codec_string", "OPUS,G722,PCMU,PCMA,H264,VP8"),
            ("sip_via_host", host),
            ("sip_via_port", str(port)),
            ("max_forwards", "70"),
            ("presence_id", f"{user}@{host}"),
            ("switch_r_sdp", sdp),
            ("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"),
            ("endpoint_disposition", "DELAYED NEGOTIATION"),
        ]
        for name, value in values:
            channel.set_variable(name, value)

    def _inbound_session(
        self,
        channel: Channel,
        destination: str,
        caller_id_number: str,
        caller_id_name: str,
        context: str,
        variables: dict[str, str],
        user: str,
        host: str,
        port: int,
    ) -> None:
        channel.greenlet = gevent.getcurrent()
        self._register(channel)
        channel.set_running_state("CS_NEW", 0)
        now_us = self.clock.now_us()
        profile = CallerProfile(
            direction="inbound",
            logical_direction="inbound",
            username=user,
            dialplan="XML",
            caller_id_name=caller_id_name,
            caller_id_number=caller_id_number,
            orig_caller_id_name=caller_id_name,
            orig_caller_id_number=caller_id_number,
            network_addr=host,
            ani=caller_id_number,
            destination_number=destination,
            uuid=channel.uuid,
            source="mod_sofia",
            context=context,
            chan_name=channel.name,
            profile_index="1",
        )
        assert profile.times is not None
        profile.times["profile_created"] = now_us
        profile.times["created"] = now_us
        channel.caller_profile = profile
        session_id = channel.variables.get("session_id")
        channel.variables.clear()
        channel.set_variable("session_id", session_id)
        self._sip_inbound_variables(channel, user, host, port, destination, caller_id_name)
        for name, value in variables.items():
            channel.set_variable(name, value)
        channel.set_running_state("CS_INIT", 1)
        channel.state = 2
        channel.fire("CHANNEL_CREATE")
        channel.running_state = "CS_ROUTING"
        channel.set_callstate("RINGING")
        channel.set_running_state("CS_ROUTING", 2)
        apps = self._route(channel)
        self._run_session(channel, apps)

    def _route(self, channel: Channel) -> list[tuple[str, str]]:
        profile = channel.caller_profile
        assert profile is not None

        def field_value(name: str) -> str:
            if name.startswith("${") and name.endswith("}"):
                return self.expand(channel, name)
            value = self._channel_field(channel, name)
            if value is None:
                value = channel.variables.get(name, "")
            return value

        apps = self.dialplan.route(profile.context, field_value)
        channel.set_variable("DP_MATCH", "ARRAY::DELAYED NEGOTIATION|:DELAYED NEGOTIATION")
        channel.set_variable("call_uuid", channel.uuid)
        channel.state = 4
        self._presence(channel)
        if channel.answered:
            channel.running_state = "CS_EXECUTE"
            channel.set_callstate("ACTIVE")
        channel.set_running_state("CS_EXECUTE", 4)
        if not apps:
            self.hangup(channel, "NO_ROUTE_DESTINATION")
        return apps

    def _presence(self, channel: Channel) -> None:
        presence_id = channel.variables.get("presence_id")
        if not presence_id or channel.direction != "inbound":
            return
        status = {"RINGING": "alerting", "ACTIVE": "active", "HANGUP": "hangup"}.get(
            channel.callstate, "active"
        )
        after = [
            ("proto", "any"),
            ("login", "src/switch_channel.c"),
            ("from", presence_id),
            ("rpid", "unknown"),
            ("status", "Active (1 waiting)" if status == "active" else channel.running_state),
            ("event_type", "presence"),
            ("alt_event_type", "dialog"),
            ("presence-call-info-state", status),
            ("presence-call-direction", channel.direction),
            ("event_count", "0"),
            ("Presence-Calling-File", "src/switch_core_state_machine.c"),
            ("Presence-Calling-Function", "check_presence"),
            ("Presence-Calling-Line", "521"),
        ]
        channel.fire("PRESENCE_IN", after=after, with_variables=False)

    def _run_session(self, channel: Channel, apps: list[tuple[str, str]] | None) -> None:
        """The session thread: runs applications, transfers and bridges until hangup."""
        channel.greenlet = gevent.getcurrent()
        try:
            channel.pending_apps = apps
            while channel.up:
                if channel.transfer_target is not None:
                    self._do_transfer(channel)
                    continue
                if channel.bridge_request is not None:
                    self._uuid_bridge_service(channel)
                    continue
                if channel.pending_apps is not None:
                    todo, channel.pending_apps = channel.pending_apps, None
                    self._run_apps(channel, todo)
                    if (
                        channel.up
                        and not channel.pending_work()
                        and channel.pending_apps is None
                        and channel.bridge_role != "b"
                    ):
                        self.hangup(channel, "NORMAL_CLEARING")
                    continue
                reason = channel.wait(None, until_private=True)
                if reason == "private":
                    self._parse_private_events(channel)
                elif reason == "break" and not channel.pending_work():
                    channel.break_requested = False
        except Exception:
            import traceback

            traceback.print_exc()
            if channel.up:
                self.hangup(channel, "NORMAL_TEMPORARY_FAILURE")
        finally:
            self._finish(channel)

    def _run_apps(self, channel: Channel, apps: list[tuple[str, str]]) -> None:
        for application, data in apps:
            if channel.down or channel.pending_work():
                return
            self._parse_private_events(channel)
            if channel.down or channel.pending_work():
                return
            self.execute(channel, application, data)

    def execute(
        self, channel: Channel, application: str, data: str, app_uuid: str | None = None
    ) -> None:
        """switch_core_session_execute_application: EXECUTE, run, EXECUTE_COMPLETE. The
        data is expanded first (switch_core_session_exec), whether the dialplan or a
        sendmsg runs the application."""
        app_uuid = app_uuid or self.new_uuid()
        handler = self.applications.get(application)
        if handler is None:
            # switch_core_session_execute_application: "Invalid Application", no events.
            self.hangup(channel, "DESTINATION_OUT_OF_ORDER")
            return
        if data and channel.variables.get("app_disable_expand_variables") != "true":
            data = self.expand(channel, data)
        # Every application starts without a response; playback sets one, others leave it
        # unset, and a nested application's response is what its parent reports.
        channel.set_variable("current_application_response", None)
        channel.set_variable("current_application", application)
        if data:
            channel.set_variable("current_application_data", data)
        else:
            channel.set_variable("current_application_data", None)
        after = [("Application", application)]
        if data:
            after.append(("Application-Data", data))
        after.append(("Application-UUID", app_uuid))
        channel.fire("CHANNEL_EXECUTE", after=after)
        previous_app = channel.current_app
        channel.current_app = application
        channel.break_requested = False
        try:
            handler(channel, data)
        finally:
            channel.current_app = previous_app
        if data:
            channel.set_variable("current_application_data", data)
        channel.set_variable("current_application", application)
        channel.set_variable("last_app", application)
        if data:
            channel.set_variable("last_arg", data)
        response = channel.variables.get("current_application_response", "_none_")
        after = [("Application", application)]
        if data:
            after.append(("Application-Data", data))
        after.extend([("Application-Response", response), ("Application-UUID", app_uuid)])
        channel.fire("CHANNEL_EXECUTE_COMPLETE", after=after)

    def hangup(
        self, channel: Channel, cause: str = "NORMAL_CLEARING", by_peer: bool = False
    ) -> None:
        """switch_channel_hangup: mark the channel down and fire CHANNEL_HANGUP.

        ``by_peer``: the phone or the trunk ended it (a BYE, CANCEL or refusal received),
        not the switch; sofia says which in ``sip_hangup_disposition``."""
        if channel.down:
            return
        channel.set_variable("sip_hangup_disposition", _disposition(channel, by_peer))
        channel.hangup_cause = cause
        channel.down = True
        channel.state = 10
        channel.set_time("hungup")
        channel.set_variable("hangup_cause", cause)
        channel.set_variable("hangup_cause_q850", HANGUP_CAUSE_CODES.get(cause, 16))
        channel.fire("CHANNEL_HANGUP")
        channel.hungup.set()
        channel.signal()
        for waiter in channel.answer_waiters:
            waiter.set()
        if channel.partner is not None:
            channel.partner.signal()
        if channel.party is not None and hasattr(channel.party, "on_switch_hangup"):
            channel.party.on_switch_hangup(channel, cause)

    def _cdr_variables(self, channel: Channel) -> None:
        times = channel.caller_profile.times if channel.caller_profile else None
        times = times or {}
        created = times.get("created", channel.created_us)
        answered = times.get("answered", 0)
        end = self.clock.now_us()
        progress = times.get("progress", 0)
        progress_media = times.get("progress_media", 0)
        bridged = times.get("bridged", 0)

        def stamp(us: int) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us / 1e6)) if us else ""

        duration_us = end - created
        bill_us = end - answered if answered else 0
        values = [
            ("start_stamp", stamp(created)),
            ("answer_stamp", stamp(answered) if answered else None),
            ("bridge_stamp", stamp(bridged) if bridged else None),
            ("end_stamp", stamp(end)),
            ("start_epoch", int(created / 1e6)),
            ("start_uepoch", created),
            ("answer_epoch", int(answered / 1e6)),
            ("answer_uepoch", answered),
            ("bridge_epoch", int(bridged / 1e6)),
            ("bridge_uepoch", bridged),
            ("progress_epoch", int(progress / 1e6)),
            ("progress_uepoch", progress),
            ("progress_media_epoch", int(progress_media / 1e6)),
            ("progress_media_uepoch", progress_media),
            ("end_epoch", int(end / 1e6)),
            ("end_uepoch", end),
            (
                "caller_id",
                f'"{channel.caller_profile.caller_id_name}" '
                f"<{channel.caller_profile.caller_id_number}>"
                if channel.caller_profile
                else "",
            ),
            ("duration", int(duration_us / 1e6)),
            ("billsec", int(bill_us / 1e6)),
            ("progresssec", int((progress - created) / 1e6) if progress else 0),
            ("answersec", int((answered - created) / 1e6) if answered else 0),
            ("waitsec", int((answered - created) / 1e6) if answered else 0),
            ("mduration", int(duration_us / 1000)),
            ("billmsec", int(bill_us / 1000)),
            ("uduration", duration_us),
            ("billusec", bill_us),
        ]
        for name, value in values:
            if value is not None:
                channel.set_variable(name, value)

    def _hangup_hook(self, channel: Channel) -> None:
        """``api_hangup_hook``: an API command run once the channel has hung up, as api_hook
        in switch_core_state_machine.c: ``command::argument`` or ``command argument``. The
        argument is expanded against an event of the channel's variables then (times and
        cause included) and its event headers (``Caller-Caller-ID-Number``...), looked up
        without regard to case as event headers are: profile fields such as
        ``caller_id_number``, which a channel's expansion knows, are not there."""
        hook = channel.variables.get("api_hangup_hook")
        if not hook or self.api_handler is None:
            return
        command, separator, argument = hook.partition("::")
        if not separator:
            command, _, argument = hook.partition(" ")
        session = channel if channel.variables.get("session_in_hangup_hook") == "true" else None
        headers: dict[str, str] = {}
        for name, value in [*channel.variables.items(), *channel.basic_headers()]:
            headers.setdefault(name.lower(), value)

        def api(name: str, arguments: str) -> str:
            return self.api_handler(name, arguments, session)[1] if self.api_handler else ""

        expanded = expand_variables(argument, lambda name: headers.get(name.lower()), api)
        self.api_handler(command, expanded, session)

    def listed_channels(self) -> list[Channel]:
        now = time.monotonic()
        self._recently_destroyed = [
            c for c in self._recently_destroyed if c.unlisted_at is not None and c.unlisted_at > now
        ]
        return [*self.channels.values(), *self._recently_destroyed]

    def _finish(self, channel: Channel) -> None:
        if self.row_snapshot is not None:
            self.row_snapshot(channel)
        if channel.up:
            self.hangup(channel, "NORMAL_CLEARING")
        self._stop_media_bugs(channel)
        channel.set_running_state("CS_HANGUP", 10)
        channel.set_callstate("HANGUP")
        self._presence(channel)
        channel.set_running_state("CS_REPORTING", 11)
        self._cdr_variables(channel)
        self._hangup_hook(channel)
        channel.set_variable("call_uuid", channel.uuid)
        channel.fire(
            "CHANNEL_HANGUP_COMPLETE", before=[("Hangup-Cause", channel.hangup_cause or "")]
        )
        channel.destroy_release.wait()
        self.channels.pop(channel.uuid, None)
        channel.unlisted_at = time.monotonic() + self.database_lag
        self.listed_channels()  # prunes the ones past the lag, so the list stays short
        self._recently_destroyed.append(channel)
        channel.state = 12
        channel.fire("CHANNEL_DESTROY")
        channel.set_running_state("CS_DESTROY", 12)
        channel.destroyed.set()
        if channel.party is not None and hasattr(channel.party, "on_destroy"):
            channel.party.on_destroy(channel)
        # The session's greenlet (its arguments) and the party (its ``channel``) refer back
        # to the channel: dropping them lets reference counting free a finished call at
        # once. Left to the cycle collector, every call's objects reached the oldest
        # generation and made its full collections frequent.
        channel.greenlet = None
        channel.party = None

    # ------------------------------------------------------------------ private events
    def queue_private_event(self, channel: Channel, headers: list[tuple[str, str]]) -> None:
        channel.private_events.put(headers)
        channel.signal()

    def _parse_private_events(self, channel: Channel) -> None:
        while not channel.private_events.empty():
            headers = channel.private_events.get_nowait()
            announce = channel.media_ready
            self._parse_private(channel, headers)
            if announce:
                event = self.bus.create("PRIVATE_COMMAND", prefix=list(headers))
                event.extend(channel.basic_headers())
                self.bus.fire(event)

    def _parse_private(self, channel: Channel, headers: list[tuple[str, str]]) -> None:
        lookup = {name.lower(): value for name, value in headers}
        command = lookup.get("call-command", "")
        if command == "execute":
            app = lookup.get("execute-app-name", "")
            arg = lookup.get("execute-app-arg", "")
            loops = int(lookup.get("loops", "1") or 1)
            event_uuid = lookup.get("event-uuid")
            if event_uuid:
                channel.set_variable("app_uuid", event_uuid)
            # event-lock (CF_EVENT_LOCK): the messages queued behind wait for this one's end;
            # without it the running application's loop runs them (a broadcast in a bridge).
            channel.event_locked = lookup.get("event-lock", "").lower() == "true"
            try:
                for _ in range(max(loops, 1)):
                    if channel.down:
                        break
                    self.execute(channel, app, arg, app_uuid=event_uuid)
            finally:
                channel.event_locked = False
        elif command == "hangup":
            self.hangup(channel, lookup.get("hangup-cause", "NORMAL_CLEARING"))
        elif command == "unhold":
            self.unhold(channel)

    # ------------------------------------------------------------------ applications
    def app_noop(self, channel: Channel, data: str) -> None:
        return

    def _codec_events(self, channel: Channel) -> None:
        if channel.codec_ready:
            return
        channel.codec_ready = True
        channel.fire(
            "CODEC",
            after=[
                ("channel-read-codec-name", "PCMU"),
                ("channel-read-codec-rate", "8000"),
                ("channel-read-codec-bit-rate", "64000"),
            ],
        )
        channel.fire(
            "CODEC",
            site=("switch_core_codec.c", "switch_core_session_set_write_codec", 450),
            after=[
                ("Channel-Write-Codec-Name", "PCMU"),
                ("Channel-Write-Codec-Rate", "8000"),
                ("Channel-Write-codec-bit-rate", "64000"),
            ],
        )
        for name, value in [
            ("read_codec", "PCMU"),
            ("original_read_codec", "PCMU"),
            ("read_rate", "8000"),
            ("original_read_rate", "8000"),
            ("write_codec", "PCMU"),
            ("write_rate", "8000"),
            ("dtmf_type", "rfc2833"),
        ]:
            channel.set_variable(name, value)

    def pre_answer(self, channel: Channel) -> None:
        if channel.early_media or channel.answered or channel.down:
            return
        self._codec_events(channel)
        channel.early_media = True
        channel.set_time("progress_media")
        channel.fire("CHANNEL_PROGRESS_MEDIA")
        channel.set_callstate("EARLY")

    def answer(self, channel: Channel) -> None:
        """Answer a channel (an inbound leg passes through early media first, as sofia does)."""
        if channel.answered or channel.down:
            return
        if channel.direction == "inbound":
            self.pre_answer(channel)
        else:
            self._codec_events(channel)
        channel.answered = True
        channel.set_time("answered")
        channel.set_variable("endpoint_disposition", "ANSWER")
        channel.fire("CHANNEL_ANSWER")
        if channel.direction == "inbound":
            self._presence(channel)
        channel.set_callstate("ACTIVE")
        for waiter in channel.answer_waiters:
            waiter.set()

    def app_answer(self, channel: Channel, data: str) -> None:
        self.answer(channel)

    def app_pre_answer(self, channel: Channel, data: str) -> None:
        self.pre_answer(channel)

    def ring_ready(self, channel: Channel) -> None:
        if channel.ring_ready or channel.down:
            return
        channel.ring_ready = True
        if channel.caller_profile is not None and not channel.caller_profile.network_addr:
            endpoint = channel.party
            channel.caller_profile.network_addr = getattr(endpoint, "host", "127.0.0.1")
        channel.set_time("progress")
        channel.fire("CHANNEL_PROGRESS")
        channel.set_callstate("RINGING")
        originator = channel.originator
        if originator is not None and originator.up and not originator.media_ready:
            # The caller hears the ringing: the 180 is passed back to the A leg.
            if originator.caller_profile is not None and channel.caller_profile is not None:
                originator.caller_profile.callee_id_name = channel.caller_profile.callee_id_name
                originator.caller_profile.callee_id_number = channel.caller_profile.callee_id_number
            self.ring_ready(originator)

    def app_ring_ready(self, channel: Channel, data: str) -> None:
        self.ring_ready(channel)

    def app_sleep(self, channel: Channel, data: str) -> None:
        try:
            milliseconds = int(data)
        except ValueError:
            return
        channel.wait(milliseconds / 1000.0)

    def app_set(self, channel: Channel, data: str) -> None:
        """mod_dptools base_set: ``name=value`` (or ``name,value``); the value is expanded
        again, after the expansion of the application's data."""
        separator = "=" if "=" in data else ","
        name, _, value = data.partition(separator)
        channel.set_variable(name.strip(), self.expand(channel, value) if value != "" else None)

    def app_multiset(self, channel: Channel, data: str) -> None:
        """mod_dptools multiset: ``a=1 b=2`` (``^^;a=1;b=2`` for another delimiter), each
        part set as by ``set``."""
        delimiter = " "
        if data.startswith("^^") and len(data) > 2:
            delimiter, data = data[2], data[3:]
        for part in data.split(delimiter):
            if part:
                self.app_set(channel, part)

    def app_unset(self, channel: Channel, data: str) -> None:
        channel.set_variable(data.strip(), None)

    def app_export(self, channel: Channel, data: str) -> None:
        name, _, value = data.partition("=")
        name = name.strip()
        if name.startswith("nolocal:"):
            name = name[len("nolocal:") :]
        else:
            channel.set_variable(name, value)
        exports = channel.variables.get("export_vars")
        channel.set_variable("export_vars", f"{exports},{name}" if exports else name)

    def app_hangup(self, channel: Channel, data: str) -> None:
        self.hangup(channel, data.strip() or "NORMAL_CLEARING")

    def app_transfer(self, channel: Channel, data: str) -> None:
        parts = data.split()
        if not parts:
            return
        # mod_dptools' transfer is switch_ivr_session_transfer: a new caller profile for the
        # new destination, as for uuid_transfer.
        self.transfer(
            channel,
            parts[0],
            parts[1] if len(parts) > 1 else "XML",
            parts[2] if len(parts) > 2 else None,
        )

    def app_echo(self, channel: Channel, data: str) -> None:
        channel.wait(None)

    def play(
        self, channel: Channel, path: str, until_dtmf: bool = False, read_dtmf: bool = False
    ) -> str:
        """switch_ivr_play_file: PLAYBACK_START, the prompt's duration, PLAYBACK_STOP.

        ``until_dtmf``: the first digit stops the prompt and stays readable (a digit-collecting
        caller's buffer). ``read_dtmf``: digits are consumed as mod_dptools' ``on_dtmf`` does
        (see :meth:`wait_reading_dtmf`). Neither: digits wait in the channel's queue.
        Returns ``done``, ``dtmf`` (interrupted by a digit), ``break``, ``hangup`` or
        ``expired`` (cut at ``playback_timeout_sec``, a channel variable read as it starts).
        """
        if channel.down:
            return "hangup"
        if not media.file_exists(path, self.sound_prefix):
            channel.set_variable("current_application_response", "FILE NOT FOUND")
            return "done"
        if not channel.media_ready:
            self.pre_answer(channel)
        file_type = path.split("://", 1)[0] if "://" in path else os.path.splitext(path)[1][1:]
        info = [("Playback-File-Type", file_type), ("Playback-File-Path", path)]
        channel.fire("PLAYBACK_START", after=info)
        party = channel.party
        if party is not None and hasattr(party, "on_prompt"):
            party.on_prompt(channel, path)
        seconds = media.prompt_seconds(path, self.default_prompt_seconds, self.sound_prefix)
        limit = _int_or_zero(channel.variables.get("playback_timeout_sec"))
        cut = limit > 1 and (seconds is None or seconds > limit)
        if cut:
            seconds = float(limit)
        started = self.clock.now()
        if read_dtmf:
            reason = self.wait_reading_dtmf(channel, seconds)
        else:
            reason = channel.wait(seconds, until_dtmf=until_dtmf)
        elapsed = self.clock.now() - started
        channel.set_variable("playback_seconds", int(elapsed))
        channel.set_variable("playback_ms", int(elapsed * 1000))
        channel.set_variable("playback_samples", int(elapsed * 8000))
        status = "done" if reason in ("timeout",) else "break"
        channel.fire("PLAYBACK_STOP", after=[*info, ("Playback-Status", status)])
        if reason == "break":
            channel.break_requested = False
        if reason == "timeout":
            return "expired" if cut else "done"
        return reason

    @staticmethod
    def playback_terminators(channel: Channel) -> str:
        """The keys that end a playback or a recording (``playback_terminators``, default
        ``*``; ``any`` and ``none`` as in mod_dptools)."""
        value = channel.variables.get("playback_terminators")
        if value is None:
            return "*"
        if value.lower() == "any":
            return "1234567890*#"
        if value.lower() == "none":
            return ""
        return value

    def wait_reading_dtmf(self, channel: Channel, seconds: float | None) -> str:
        """Wait as the playback and record applications do (mod_dptools' ``on_dtmf``): every
        digit is consumed; a playback terminator ends the wait (``dtmf``, and
        ``playback_terminator_used`` is set), any other digit is dropped."""
        terminators = self.playback_terminators(channel)
        deadline = None if seconds is None else self.clock.now() + seconds
        while True:
            remaining = None if deadline is None else max(0.0, deadline - self.clock.now())
            reason = channel.wait(remaining, until_dtmf=True)
            if reason != "dtmf":
                return reason
            digit = channel.dtmf_buffer.popleft()
            if digit in terminators:
                channel.set_variable("playback_terminator_used", digit)
                return "dtmf"

    def app_playback(self, channel: Channel, data: str) -> None:
        reason = self.play(channel, data, read_dtmf=True)
        failed = reason == "hangup" or (
            reason == "expired"
            and channel.variables.get("playback_timeout_as_success", "").lower() != "true"
        )
        response = "PLAYBACK ERROR" if failed else "FILE PLAYED"
        if channel.variables.get("current_application_response") != "FILE NOT FOUND":
            channel.set_variable("current_application_response", response)

    def app_play_and_get_digits(self, channel: Channel, data: str) -> None:
        args = data.split()
        if len(args) < 7:
            return
        minimum, maximum, tries, timeout_ms = (
            int(args[0]),
            int(args[1]),
            int(args[2]),
            int(args[3]),
        )
        terminators = args[4]
        prompt, invalid = args[5], args[6]
        variable = args[7] if len(args) > 7 else None
        regexp = args[8] if len(args) > 8 else None
        digit_timeout_ms = int(args[9]) if len(args) > 9 else timeout_ms
        transfer_on_failure = args[10] if len(args) > 10 else None
        if terminators == "none":
            terminators = ""
        result = ""
        # As switch_play_and_get_digits: no DTMF flush between tries (keys pressed during the
        # invalid prompt count for the next try), and the invalid prompt follows every failed
        # try, the last one included.
        for _attempt in range(max(tries, 1)):
            digits = ""
            terminated = False
            reason = self.play(channel, prompt, until_dtmf=True)
            if reason in ("hangup", "break"):
                break
            wait_ms = timeout_ms
            while len(digits) < maximum:
                if not channel.dtmf_buffer:
                    reason = channel.wait(wait_ms / 1000.0, until_dtmf=True)
                    if reason != "dtmf":
                        break
                digit = channel.dtmf_buffer.popleft()
                if digit in terminators:
                    terminated = True
                    break
                digits += digit
                wait_ms = digit_timeout_ms
            if channel.down or channel.break_requested:
                break
            valid = len(digits) >= minimum and (not regexp or switch_regex_match(digits, regexp))
            if valid or (terminated and minimum == 0):
                result = digits
                break
            if invalid and invalid != "none":
                self.play(channel, invalid)
        if variable:
            channel.set_variable(variable, result if result else None)
            channel.set_variable(f"{variable}_invalid", None)
        if not result and transfer_on_failure and channel.up:
            target = transfer_on_failure.split()
            self.app_transfer(channel, " ".join(target))

    def park_loop(self, channel: Channel, controlled: Callable[[], bool] | None = None) -> None:
        """switch_ivr_park: CHANNEL_PARK, serve sendmsg until hangup or an interruption.

        ``controlled`` (the outbound socket's) ends the park when it returns False.
        """
        channel.in_park = True
        # switch_ivr_park sets CF_CONTROLLED and parks while it stays set; an outbound socket
        # that ends clears it (listener_run), whichever socket application parks the call now.
        channel.controlled = True
        channel.fire("CHANNEL_PARK")
        try:

            def released() -> bool:
                return not channel.controlled or (controlled is not None and not controlled())

            while channel.up and not channel.pending_work() and channel.controlled:
                if controlled is not None and not controlled():
                    break
                reason = channel.wait(None, until_private=True, until=released)
                if reason == "condition":
                    break
                if reason == "private":
                    self._parse_private_events(channel)
                elif reason == "break":
                    if channel.pending_work() or channel.down or not channel.controlled:
                        break
                    if controlled is not None and not controlled():
                        break
                    channel.break_requested = False
        finally:
            channel.in_park = False
            channel.fire("CHANNEL_UNPARK")

    def app_park(self, channel: Channel, data: str) -> None:
        self.park_loop(channel)

    def app_socket(self, channel: Channel, data: str) -> None:
        if self.socket_handler is not None:
            self.socket_handler(channel, data)

    # ------------------------------------------------------------------ originate
    def add_endpoint(self, endpoint: Endpoint) -> Endpoint:
        self.endpoints[endpoint.user] = endpoint
        return endpoint

    def _resolve(self, target: str) -> tuple[Endpoint, str, str]:
        """(endpoint, channel name, destination number) for a dial string, or raise."""
        if target.startswith("user/"):
            user = target[len("user/") :].split("@", 1)[0]
            endpoint = self.endpoints.get(user)
            if endpoint is None or not endpoint.registered:
                raise OriginateError("USER_NOT_REGISTERED")
            return endpoint, f"sofia/internal/{user}@{endpoint.host}:{endpoint.port}", user
        if target.startswith("sofia/gateway/"):
            rest = target[len("sofia/gateway/") :]
            gateway, _, number = rest.partition("/")
            endpoint = self.endpoints.get(number) or self.gateway_default
            return endpoint, f"sofia/gateway/{gateway}/{number}", number
        if target.startswith("sofia/"):
            rest = target.split("/", 2)[2] if target.count("/") >= 2 else target
            if rest.startswith("sip:"):
                rest = rest[4:]
            user, _, hostport = rest.partition("@")
            endpoint = self.endpoints.get(user)
            if endpoint is None:
                endpoint = Endpoint(user=user, mode="unreachable")
            name = f"sofia/internal/{user}@{hostport or '127.0.0.1'}"
            return endpoint, name, user
        if target.startswith("loopback/"):
            number = target[len("loopback/") :].split("/", 1)[0]
            endpoint = self.endpoints.get(number) or Endpoint(user=number, answer_delay=0)
            return endpoint, f"loopback/{number}-a", number
        if target.startswith("error/"):
            raise OriginateError(target[len("error/") :].upper())
        raise OriginateError("CHAN_NOT_IMPLEMENTED")

    @staticmethod
    def parse_dial_string(dial_string: str) -> tuple[dict[str, str], list[list[str]]]:
        """Global ``{a=b}`` variables and the targets: ``|`` sequential, ``,`` together."""
        variables: dict[str, str] = {}
        text = dial_string.strip()
        if text.startswith("{"):
            end = text.index("}")
            for item in _split_vars(text[1:end]):
                key, _, value = item.partition("=")
                variables[key.strip()] = value
            text = text[end + 1 :]
        groups = []
        for group in text.split("|"):
            targets = [t.strip() for t in group.split(",") if t.strip()]
            clean = []
            for target in targets:
                if target.startswith("["):
                    target = target[target.index("]") + 1 :]
                clean.append(target)
            groups.append(clean)
        return variables, groups

    def originate(
        self,
        dial_string: str,
        caller: Channel | None = None,
        timeout: float | None = None,
        extra_variables: dict[str, str] | None = None,
    ) -> Channel:
        """Ring the dial string; return the answered leg or raise OriginateError(cause)."""
        variables, groups = self.parse_dial_string(dial_string)
        if extra_variables:
            variables = {**extra_variables, **variables}
        if timeout is None:
            timeout = float(
                variables.get("originate_timeout")
                or variables.get("call_timeout")
                or (caller.variables.get("call_timeout") if caller else None)
                or 60
            )
        cause = "NORMAL_TEMPORARY_FAILURE"
        for group in groups:
            if caller is not None and caller.down:
                raise OriginateError("ORIGINATOR_CANCEL")
            try:
                return self._originate_group(group, variables, caller, timeout)
            except OriginateError as error:
                cause = error.cause
        raise OriginateError(cause)

    def _originate_group(
        self,
        targets: list[str],
        variables: dict[str, str],
        caller: Channel | None,
        timeout: float,
    ) -> Channel:
        legs: list[Channel] = []
        first_error: OriginateError | None = None
        for target in targets:
            try:
                legs.append(self._new_outgoing_leg(target, variables, caller))
            except OriginateError as error:
                first_error = first_error or error
        if not legs:
            raise first_error or OriginateError("NORMAL_TEMPORARY_FAILURE")
        answered = gevent.event.Event()
        for leg in legs:
            leg.answer_waiters.append(answered)
        start = self.clock.now()
        # FreeSWITCH compares whole epoch seconds, so a 3 s timeout fires after 2-3 s.
        deadline_virtual = math.floor(start) + timeout
        winner: Channel | None = None
        while True:
            for leg in legs:
                if leg.answered and leg.up:
                    winner = leg
                    break
            if winner is not None:
                break
            if all(leg.down for leg in legs):
                break
            if caller is not None and caller.down:
                break
            remaining = deadline_virtual - self.clock.now()
            if remaining <= 0:
                break
            answered.clear()
            if caller is not None:
                caller.answer_waiters.append(answered)
            answered.wait(self.clock.real_seconds(min(remaining, 1.0)))
            if caller is not None and answered in caller.answer_waiters:
                caller.answer_waiters.remove(answered)
        for leg in legs:
            if answered in leg.answer_waiters:
                leg.answer_waiters.remove(answered)
            if leg is winner:
                continue
            if leg.up:
                if caller is not None and caller.down:
                    self.hangup(leg, "ORIGINATOR_CANCEL")
                elif winner is not None:
                    self.hangup(leg, "LOSE_RACE")
                else:
                    self.hangup(leg, "NO_ANSWER")
        if winner is not None:
            return winner
        if caller is not None and caller.down:
            raise OriginateError("ORIGINATOR_CANCEL")
        causes = [leg.hangup_cause for leg in legs if leg.hangup_cause]
        raise OriginateError(causes[0] if causes else "NO_ANSWER")

    def _new_outgoing_leg(
        self, target: str, variables: dict[str, str], caller: Channel | None
    ) -> Channel:
        endpoint, name, destination = self._resolve(target)
        leg_uuid = variables.get("origination_uuid") or self.new_uuid()
        if leg_uuid in self.channels:
            raise OriginateError("NORMAL_TEMPORARY_FAILURE")
        leg = Channel(self.bus, self.clock, leg_uuid, name, "outbound")
        self._register(leg)
        leg.hit_dialplan = False
        now_us = self.clock.now_us()
        if caller is not None and caller.caller_profile is not None:
            # FreeSWITCH clones the originator's profile for the new leg.
            profile = caller.caller_profile.clone()
            profile.transfer_source = ""
            profile.callee_id_name = ""
            profile.callee_id_number = ""
        else:
            profile = CallerProfile(
                caller_id_number="0000000000",
                source="src/switch_ivr_originate.c",
                context="default",
            )
        profile.direction = "outbound"
        profile.logical_direction = "outbound"
        if variables.get("origination_caller_id_name"):
            profile.caller_id_name = variables["origination_caller_id_name"]
        if variables.get("origination_caller_id_number"):
            profile.caller_id_number = variables["origination_caller_id_number"]
            profile.ani = profile.caller_id_number
        if caller is None:
            profile.ani = profile.caller_id_number
        profile.orig_caller_id_name = profile.caller_id_name
        profile.orig_caller_id_number = profile.caller_id_number
        profile.callee_id_name = "Outbound Call"
        profile.callee_id_number = destination
        profile.destination_number = destination
        profile.uuid = leg.uuid
        profile.chan_name = name
        profile.profile_index = "1"
        profile.times = {key: 0 for key in (profile.times or {})}
        profile.times["profile_created"] = now_us
        profile.times["created"] = now_us
        leg.caller_profile = profile
        if caller is not None and caller.caller_profile is not None:
            leg.other_profile = caller.caller_profile.clone_for_other_leg()
            leg.other_type = "originator"
            leg.set_variable("originator", caller.uuid)
            leg.originator = caller
        leg.running_state = "CS_NONE"
        leg.state = 1
        leg.fire("CHANNEL_OUTGOING", with_variables=False)
        for name_value in [
            ("direction", "outbound"),
            ("is_outbound", "true"),
            ("uuid", leg.uuid),
            ("call_uuid", leg.uuid),
            ("session_id", leg.variables.get("session_id", "1")),
            ("sip_local_network_addr", "127.0.0.1"),
            ("sip_profile_name", "internal"),
            ("text_media_flow", "disabled"),
            ("channel_name", name),
            ("sip_destination_url", f"sip:{destination}@{endpoint.host}:{endpoint.port}"),
        ]:
            leg.set_variable(*name_value)
        for key, value in variables.items():
            if key not in ("origination_uuid",):
                leg.set_variable(key, value)
        leg.set_variable("originate_early_media", "true")
        leg.set_variable("originate_endpoint", name.split("/", 1)[0])
        leg.set_running_state("CS_INIT", 1)
        leg.state = 2
        leg.fire("CHANNEL_CREATE")
        leg.fire("CHANNEL_ORIGINATE")
        leg.set_running_state("CS_ROUTING", 2)
        leg.set_running_state("CS_CONSUME_MEDIA", 7)
        endpoint.channels = [c for c in endpoint.channels if not c.destroyed.is_set()]
        endpoint.channels.append(leg)
        leg.party = endpoint
        leg.bridge_role = "b"
        self.spawn(self._run_session, leg, None)
        if endpoint.mode == "unreachable":
            self.hangup(leg, "NORMAL_TEMPORARY_FAILURE")
            raise OriginateError("NORMAL_TEMPORARY_FAILURE")
        if endpoint.mode in ("busy", "reject") and leg.caller_profile is not None:
            # A SIP answer (486/603) came back: the leg now knows the peer's address.
            leg.caller_profile.network_addr = leg.caller_profile.network_addr or endpoint.host
        if endpoint.mode == "busy":
            self.hangup(leg, "USER_BUSY", by_peer=True)
            raise OriginateError("USER_BUSY")
        if endpoint.mode == "reject":
            self.hangup(leg, "CALL_REJECTED", by_peer=True)
            raise OriginateError("CALL_REJECTED")
        self.ring_ready(leg)
        if endpoint.mode == "answer":
            self.spawn(self._endpoint_answer, endpoint, leg)
        return leg

    def _endpoint_answer(self, endpoint: Endpoint, leg: Channel) -> None:
        if not leg.sleep_while_up(endpoint.answer_delay):
            return
        self.answer(leg)
        if endpoint.on_answer is not None:
            endpoint.on_answer(leg)
        for delay, digits in endpoint.dtmf_script:
            if not leg.sleep_while_up(delay):
                return
            for digit in digits:
                self.receive_dtmf(leg, digit)
        if endpoint.talk_time is not None:
            if leg.sleep_while_up(endpoint.talk_time):
                self.hangup(leg, "NORMAL_CLEARING", by_peer=True)

    def flip_caller_id(self, leg: Channel) -> None:
        """switch_channel_flip_cid: an originated leg now shows the callee as its caller."""
        profile = leg.caller_profile
        if profile is None:
            return
        leg.set_variable("pre_transfer_caller_id_number", profile.caller_id_number)
        old_name, old_number = profile.caller_id_name, profile.caller_id_number
        profile.caller_id_name = profile.callee_id_name
        profile.caller_id_number = profile.callee_id_number
        profile.callee_id_name = old_name
        profile.callee_id_number = old_number
        leg.set_variable("channel_cid_flipped", "yes")

    def call_update(
        self, channel: Channel, bridged_to: Channel | None = None, bridged: bool = True
    ) -> None:
        """CALL_UPDATE: the display update sent to the phone (who it is talking to)."""
        before = [("Direction", "SEND")]
        if bridged_to is not None and bridged_to.caller_profile is not None:
            before.extend(
                [
                    ("Sent-Callee-ID-Name", bridged_to.caller_profile.caller_id_name),
                    ("Sent-Callee-ID-Number", bridged_to.caller_profile.caller_id_number),
                ]
            )
            if bridged:
                before.append(("Bridged-To", bridged_to.uuid))
        channel.fire("CALL_UPDATE", before=before)

    def receive_dtmf(self, channel: Channel, digit: str, duration_ms: int = 100) -> None:
        """An RFC 2833 digit from the far end: DTMF event, then it is readable by apps."""
        if channel.down:
            return
        channel.fire(
            "DTMF",
            after=[
                ("DTMF-Digit", digit),
                ("DTMF-Duration", str(duration_ms * 8)),
                ("DTMF-Source", "RTP"),
            ],
        )
        if channel.eavesdrop_target is not None:
            channel.eavesdrop_commands.append(digit)
        channel.dtmf_buffer.append(digit)
        channel.signal()

    # ------------------------------------------------------------------ bridge
    def app_bridge(self, channel: Channel, data: str) -> None:
        channel.set_variable("originate_disposition", None)
        if channel.answered:
            channel.set_callstate("RING_WAIT")
        try:
            leg = self.originate(data, caller=channel)
        except OriginateError as error:
            self._set_callee_from_dial(channel, data)
            if channel.answered and channel.up:
                channel.set_callstate("ACTIVE")
            channel.set_variable("originate_disposition", error.cause)
            channel.set_variable("DIALSTATUS", _dialstatus(error.cause))
            channel.set_variable("originate_failed_cause", error.cause)
            self._handle_cause(channel, error.cause)
            return
        if channel.down:
            self.hangup(leg, "ORIGINATOR_CANCEL")
            return
        if channel.caller_profile is not None and leg.caller_profile is not None:
            channel.caller_profile.callee_id_name = leg.caller_profile.callee_id_name
            channel.caller_profile.callee_id_number = leg.caller_profile.callee_id_number
        if not channel.answered:
            self.answer(channel)
            self._link(channel, leg)
        else:
            self._link(channel, leg)
            channel.set_callstate("ACTIVE")
        channel.set_variable("originate_disposition", "SUCCESS")
        channel.set_variable("DIALSTATUS", "SUCCESS")
        self.bridge(channel, leg)
        if (
            channel.up
            and not channel.pending_work()
            and channel.variables.get("hangup_after_bridge") == "true"
        ):
            self.hangup(channel, leg.hangup_cause or "NORMAL_CLEARING")

    def _set_callee_from_dial(self, channel: Channel, data: str) -> None:
        _, groups = self.parse_dial_string(data)
        targets = [t for group in groups for t in group]
        if not targets or channel.caller_profile is None:
            return
        try:
            _, _, destination = self._resolve(targets[-1])
        except OriginateError:
            return
        channel.caller_profile.callee_id_name = "Outbound Call"
        channel.caller_profile.callee_id_number = destination

    def _handle_cause(self, channel: Channel, cause: str) -> None:
        if channel.down:
            return
        continue_on_fail = channel.variables.get("continue_on_fail")
        failure_causes = channel.variables.get("failure_causes")
        code = str(HANGUP_CAUSE_CODES.get(cause, 0))
        if failure_causes:
            items = [c.strip().upper() for c in failure_causes.split(",")]
            if cause not in items and code not in items:
                return
        if continue_on_fail:
            if continue_on_fail.lower() in ("true", "yes", "on", "1"):
                return
            items = [c.strip().upper() for c in continue_on_fail.split(",")]
            if cause in items or code in items:
                return
        elif not failure_causes and cause in ALWAYS_CONTINUE_CAUSES:
            return
        self.hangup(channel, cause)

    def _link(self, a_leg: Channel, b_leg: Channel) -> None:
        a_leg.partner = b_leg
        b_leg.partner = a_leg
        now = self.clock.now_us()
        a_leg.set_time("bridged", now)
        b_leg.set_time("bridged", now)
        if b_leg.caller_profile is not None:
            a_leg.other_profile = b_leg.caller_profile.clone_for_other_leg()
            a_leg.other_type = "originatee"
        if a_leg.caller_profile is not None and b_leg.other_profile is None:
            b_leg.other_profile = a_leg.caller_profile.clone_for_other_leg()
            b_leg.other_type = "originator"
        for one, other in ((a_leg, b_leg), (b_leg, a_leg)):
            one.set_variable("last_bridge_to", other.uuid)
            one.set_variable("bridge_channel", other.name)
            one.set_variable("bridge_uuid", other.uuid)
            one.set_variable("signal_bond", other.uuid)
            one.set_variable("bridge_stamp", time.strftime("%Y-%m-%d %H:%M:%S"))

    def bridge(self, a_leg: Channel, b_leg: Channel, via_uuid_bridge: bool = False) -> None:
        """switch_ivr_multi_threaded_bridge, run on the A leg's session."""
        if a_leg.partner is not b_leg:
            self._link(a_leg, b_leg)
        ids = [("Bridge-A-Unique-ID", a_leg.uuid), ("Bridge-B-Unique-ID", b_leg.uuid)]
        a_leg.fire("CHANNEL_BRIDGE", before=ids)
        b_leg.set_running_state("CS_EXCHANGE_MEDIA", 5)
        self.call_update(b_leg, a_leg)
        self.call_update(a_leg, b_leg)
        for party in (a_leg.party, b_leg.party):
            if party is not None and hasattr(party, "on_bridge"):
                party.on_bridge(a_leg, b_leg)
        b_leg.bridged_as_b = True
        while a_leg.up and b_leg.up and not a_leg.pending_work() and not b_leg.left_bridge:
            reason = a_leg.wait(
                None, until_private=True, until=lambda: b_leg.down or b_leg.left_bridge
            )
            if reason == "private":
                self._parse_private_events(a_leg)
            elif reason == "break" and not a_leg.pending_work():
                a_leg.break_requested = False
        if b_leg.up and not b_leg.left_bridge:
            # The A leg hung up or was transferred away: FreeSWITCH hangs the B leg up
            # before it reports the unbridge.
            self.hangup(b_leg, a_leg.hangup_cause or "NORMAL_CLEARING")
        b_leg.left_bridge = False
        b_leg.bridged_as_b = False
        a_leg.set_variable("last_bridge_hangup_cause", b_leg.hangup_cause)
        a_leg.set_variable("bridge_hangup_cause", b_leg.hangup_cause)
        a_leg.fire("CHANNEL_UNBRIDGE", before=ids)
        a_leg.partner = None
        if b_leg.partner is a_leg:
            b_leg.partner = None
            b_leg.signal()

    def uuid_bridge(self, a_leg: Channel, b_leg: Channel) -> None:
        """api uuid_bridge: both legs leave what they run and the A leg bridges them."""
        a_leg.bridge_role = "a"
        b_leg.bridge_role = "b"
        a_profile, b_profile = a_leg.caller_profile, b_leg.caller_profile
        self._new_profile_for_bridge(a_leg, b_leg)
        self._new_profile_for_bridge(b_leg, a_leg)
        if b_profile is not None:
            a_leg.other_profile = b_profile.clone_for_other_leg()
            a_leg.other_type = "originatee"
        if a_profile is not None:
            b_leg.other_profile = a_profile.clone_for_other_leg()
            b_leg.other_type = "originator"
        a_leg.bridge_request = b_leg
        b_leg.bridge_request = a_leg
        a_leg.signal()
        b_leg.signal()

    def _new_profile_for_bridge(self, channel: Channel, other: Channel) -> None:
        profile = channel.caller_profile
        if profile is None:
            return
        clone = profile.clone()
        clone.profile_index = str(int(profile.profile_index or "1") + 1)
        clone.transfer_source = f"{int(self.clock.now())}:{self.new_uuid()}:uuid_br:{other.uuid}"
        assert clone.times is not None
        clone.times["profile_created"] = self.clock.now_us()
        other_profile = other.caller_profile
        if other_profile is not None:
            if channel.bridge_role == "a":
                clone.callee_id_name = other_profile.callee_id_name
                clone.callee_id_number = other_profile.callee_id_number
            else:
                clone.caller_id_name = other_profile.caller_id_name
                clone.caller_id_number = other_profile.caller_id_number
        channel.caller_profile = clone
        channel.set_variable("transfer_source", clone.transfer_source)

    def _uuid_bridge_service(self, channel: Channel) -> None:
        other = channel.bridge_request
        channel.bridge_request = None
        channel.break_requested = False
        assert other is not None
        channel.set_running_state("CS_HIBERNATE", 8)
        channel.set_running_state("CS_RESET", 9)
        channel.set_running_state("CS_SOFT_EXECUTE", 3)
        if channel.bridge_role == "a":
            # Wait for the B leg to reach soft-execute too.
            for _ in range(100):
                if other.bridge_request is None or other.down:
                    break
                gevent.sleep(0)
            self._pseudo_execute(channel, other)
            self._pseudo_execute(other, channel)
            self.bridge(channel, other, via_uuid_bridge=True)
            if channel.up and not channel.pending_work():
                if channel.variables.get("park_after_bridge") == "true":
                    channel.pending_apps = [("park", "")]
                else:
                    self.hangup(channel, other.hangup_cause or "NORMAL_CLEARING")
        else:
            while channel.up and channel.partner is None and not channel.pending_work():
                if channel.wait(0.05) == "hangup":
                    break
            while channel.up and channel.partner is not None and not channel.pending_work():
                channel.wait(None, until=lambda: channel.partner is None)

    def _pseudo_execute(self, channel: Channel, other: Channel) -> None:
        channel.set_variable("current_application", "uuid_bridge")
        channel.set_variable("current_application_data", other.uuid)
        channel.fire(
            "CHANNEL_EXECUTE",
            site=("switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", 1236),
            after=[("Application", "uuid_bridge"), ("Application-Data", other.uuid)],
        )

    # ------------------------------------------------------------------ transfer / hold
    def transfer(
        self, channel: Channel, destination: str, dialplan: str = "XML", context: str | None = None
    ) -> None:
        if context is None:
            context = channel.caller_profile.context if channel.caller_profile else "default"
        profile = channel.caller_profile
        if profile is not None:
            new_profile = profile.clone()
            new_profile.rdnis = profile.destination_number
            new_profile.destination_number = destination
            new_profile.context = context
            new_profile.transfer_source = (
                f"{int(self.clock.now())}:{self.new_uuid()}:bl_xfer:{destination}/{context}/XML"
            )
            new_profile.profile_index = str(int(profile.profile_index or "1") + 1)
            assert new_profile.times is not None
            new_profile.times["profile_created"] = self.clock.now_us()
            new_profile.times["transferred"] = self.clock.now_us()
            channel.caller_profile = new_profile
            channel.other_profile = None
            channel.other_type = None
            channel.set_variable("transfer_source", new_profile.transfer_source)
        channel.transfer_target = (destination, dialplan, context)
        partner = channel.partner
        if partner is not None and channel.bridged_as_b:
            # A B leg transferred out of its bridge ends the A leg's bridge (which then goes
            # on with its own applications); the B leg keeps its call.
            channel.left_bridge = True
            partner.signal()
        channel.signal()

    def _do_transfer(self, channel: Channel) -> None:
        target = channel.transfer_target
        channel.transfer_target = None
        channel.break_requested = False
        assert target is not None
        destination, dialplan, context = target
        channel.set_variable("max_forwards", "69")
        if channel.answered:
            channel.running_state = "CS_ROUTING"
            channel.set_callstate("RINGING")
        channel.set_running_state("CS_ROUTING", 2)
        if dialplan == "inline":
            # mod_dialplan_inline: "app:data,app:data" runs as given, no lookup.
            apps = [
                (app, data)
                for app, _, data in (part.partition(":") for part in destination.split(","))
                if app
            ]
        else:
            apps = self._route(channel)
        channel.pending_apps = apps

    def hold(self, channel: Channel) -> bool:
        if channel.held or channel.down:
            return False
        channel.held = True
        channel.set_time("last_hold")
        channel.set_callstate("HELD")
        channel.fire("CHANNEL_HOLD")
        partner = channel.partner
        music = channel.variables.get("hold_music") or self.global_variables["hold_music"]
        if partner is not None and partner.up:
            self.broadcast(partner, music, hold=True)
        return True

    def unhold(self, channel: Channel) -> bool:
        if not channel.held:
            return False
        channel.held = False
        channel.set_callstate("UNHELD")
        partner = channel.partner
        if partner is not None and partner.broadcast_greenlet is not None:
            partner.stop_broadcast = True
            partner.signal()
            partner.broadcast_greenlet.join(timeout=2)
        channel.fire("CHANNEL_UNHOLD")
        # The media renegotiation finishes after the command has returned.
        self.spawn(self._reactivate, channel)
        return True

    @staticmethod
    def _reactivate(channel: Channel) -> None:
        if channel.up:
            channel.set_callstate("ACTIVE")

    def broadcast(self, channel: Channel, path: str, hold: bool = False) -> None:
        """uuid_broadcast / hold music: play ``path`` on ``channel`` beside its bridge.

        FreeSWITCH queues a private ``execute playback`` to the session; when it is done the
        same event object is fired twice over (COMMAND, then PRIVATE_COMMAND), so it
        carries two base header sets.
        """
        command = [
            ("call-command", "execute"),
            ("execute-app-name", "playback"),
            ("execute-app-arg", path),
            ("event-lock", "true"),
            ("lead-frames", "5"),
        ]
        if hold:
            command.append(("loops", "-1"))

        def run() -> None:
            # The session picks the queued broadcast up on its next media cycle, or, when
            # the application it runs holds the event lock, once that application is over.
            self.clock.sleep(0.2)
            while channel.event_locked and channel.up:
                gevent.sleep(0.01)
            channel.stop_broadcast = False
            channel.set_variable("current_application_response", None)
            app_uuid = self.new_uuid()
            after = [
                ("Application", "playback"),
                ("Application-Data", path),
                ("Application-UUID", app_uuid),
            ]
            channel.fire("CHANNEL_EXECUTE", after=after)
            info = [("Playback-File-Type", path.split("://", 1)[0]), ("Playback-File-Path", path)]
            channel.fire("PLAYBACK_START", after=info)
            party = channel.party
            if party is not None and hasattr(party, "on_prompt"):
                party.on_prompt(channel, path)
            seconds = media.prompt_seconds(path, self.default_prompt_seconds, self.sound_prefix)
            deadline = None if seconds is None else self.clock.now() + seconds
            while channel.up and not channel.stop_broadcast:
                remaining = None if deadline is None else deadline - self.clock.now()
                if remaining is not None and remaining <= 0:
                    break
                channel.wakeup.clear()
                channel.wakeup.wait(
                    timeout=None if remaining is None else self.clock.real_seconds(remaining)
                )
            channel.fire("PLAYBACK_STOP", after=[*info, ("Playback-Status", "done")])
            channel.set_variable("current_application_response", "FILE PLAYED")
            channel.fire(
                "CHANNEL_EXECUTE_COMPLETE",
                after=[
                    *after[:2],
                    ("Application-Response", "FILE PLAYED"),
                    ("Application-UUID", app_uuid),
                ],
            )
            event = self.bus.create("COMMAND", site=("switch_ivr.c", "switch_ivr_broadcast", 0))
            event.extend(command)
            event.extend(self.bus.base_headers("PRIVATE_COMMAND", CALLING_SITES["PRIVATE_COMMAND"]))
            event.extend(channel.basic_headers())
            self.bus.fire(event)
            channel.broadcast_greenlet = None

        channel.broadcast_greenlet = self.spawn(run)

    # ------------------------------------------------------------------ recording
    def start_recording(self, channel: Channel, path: str) -> bool:
        if channel.down:
            return False
        if path in channel.media_bugs:
            # switch_ivr_record_session: "Already recording", and success (the recording
            # goes on; RECORD_TOGGLE_ON_REPEAT, which would stop it, is not simulated).
            return True
        channel.media_bugs[path] = self.clock.now()
        channel.fire("RECORD_START", after=[("Record-File-Path", path)])
        channel.fire(
            "MEDIA_BUG_START",
            before=[("Media-Bug-Function", "session_record"), ("Media-Bug-Target", path)],
        )
        return True

    def stop_recording(self, channel: Channel, path: str | None = None) -> bool:
        paths = [path] if path and path != "all" else list(channel.media_bugs)
        stopped = False
        for item in paths:
            if item not in channel.media_bugs:
                continue
            started = channel.media_bugs.pop(item)
            if not isinstance(started, float):
                channel.media_bugs[item] = started
                continue
            seconds = self.clock.now() - started
            media.write_recording(item, seconds)
            channel.set_variable("record_seconds", int(seconds))
            channel.set_variable("record_ms", int(seconds * 1000))
            channel.fire(
                "RECORD_STOP",
                after=[("Record-File-Path", item), ("Record-Completion-Cause", "success")],
            )
            channel.fire(
                "MEDIA_BUG_STOP",
                before=[("Media-Bug-Function", "session_record"), ("Media-Bug-Target", item)],
            )
            stopped = True
        return stopped

    def _stop_media_bugs(self, channel: Channel) -> None:
        self.stop_recording(channel)
        for target, value in list(channel.media_bugs.items()):
            if callable(value):
                value()
            channel.media_bugs.pop(target, None)

    def app_record_session(self, channel: Channel, data: str) -> None:
        path = data.split()[0] if data.strip() else ""
        if path:
            self.start_recording(channel, self._recording_path(path))

    def app_stop_record_session(self, channel: Channel, data: str) -> None:
        self.stop_recording(channel, self._recording_path(data.strip()) if data.strip() else None)

    def _recording_path(self, path: str) -> str:
        if os.path.isabs(path) or not self.recordings_dir:
            return path
        return os.path.join(self.recordings_dir, path)

    def app_record(self, channel: Channel, data: str) -> None:
        parts = data.split()
        if not parts:
            return
        path = self._recording_path(parts[0])
        limit = float(parts[1]) if len(parts) > 1 else None
        if not channel.media_ready:
            self.pre_answer(channel)
        channel.fire("RECORD_START", after=[("Record-File-Path", path)])
        started = self.clock.now()
        self.wait_reading_dtmf(channel, limit)
        seconds = self.clock.now() - started
        media.write_recording(path, seconds)
        channel.set_variable("record_seconds", int(seconds))
        channel.set_variable("record_ms", int(seconds * 1000))
        channel.fire(
            "RECORD_STOP",
            after=[("Record-File-Path", path), ("Record-Completion-Cause", "success")],
        )

    def app_voicemail(self, channel: Channel, data: str) -> None:
        """mod_voicemail's deposit: greeting, beep, then a message recorded to disk.

        ``voicemail [check] <profile> <domain> <box>``; the message lands in
        ``<recordings_dir>/voicemail/<domain>/<box>/msg_<uuid>.wav`` and a CUSTOM
        ``vm::maintenance`` ``leave-message`` event announces it.
        """
        parts = data.split()
        if not parts or parts[0] == "check" or len(parts) < 3:
            return
        _, domain, box = parts[0], parts[1], parts[2]
        self.answer(channel)
        self.play(channel, "voicemail/vm-person.wav")
        self.play(channel, "tone_stream://%(1000,0,640)")
        if channel.down:
            return
        base = self.recordings_dir or os.path.join(os.getcwd(), "recordings")
        path = os.path.join(base, "voicemail", domain, box, f"msg_{self.new_uuid()}.wav")
        channel.fire("RECORD_START", after=[("Record-File-Path", path)])
        started = self.clock.now()
        channel.dtmf_buffer.clear()
        reason = channel.wait(300.0, until_dtmf=True)
        if reason == "dtmf":
            channel.dtmf_buffer.popleft()
        seconds = self.clock.now() - started
        media.write_recording(path, seconds)
        channel.fire(
            "RECORD_STOP",
            after=[("Record-File-Path", path), ("Record-Completion-Cause", "success")],
        )
        event = self.bus.create("CUSTOM", subclass="vm::maintenance")
        for name, value in [
            ("VM-Action", "leave-message"),
            ("VM-User", box),
            ("VM-Domain", domain),
            (
                "VM-Caller-ID-Name",
                channel.caller_profile.caller_id_name if channel.caller_profile else "",
            ),
            (
                "VM-Caller-ID-Number",
                channel.caller_profile.caller_id_number if channel.caller_profile else "",
            ),
            ("VM-File-Path", path),
            ("VM-Flags", ""),
            ("VM-Folder", "inbox"),
            ("VM-UUID", channel.uuid),
            ("VM-Message-Len", str(int(seconds))),
        ]:
            event.add(name, value)
        self.bus.fire(event)

    # ------------------------------------------------------------------ eavesdrop
    @staticmethod
    def eavesdrop_hearers(channel: Channel) -> list[Channel]:
        """Who hears an eavesdropping channel now: ``whisper-a`` mixes its voice into what
        the target sends (its partner hears), ``whisper-b`` into what the target is sent."""
        target, mode = channel.eavesdrop_target, channel.eavesdrop_mode
        if target is None or mode == "listen":
            return []
        hearers = []
        if mode in ("whisper-a", "barge") and target.partner is not None:
            hearers.append(target.partner)
        if mode in ("whisper-b", "barge"):
            hearers.append(target)
        return hearers

    def app_eavesdrop(self, channel: Channel, data: str) -> None:
        target = self.locate(data.strip())
        if target is None or target.down:
            channel.set_variable("eavesdrop_result", "failed")
            return
        if not channel.answered:
            self.answer(channel)
        key = f"eavesdrop:{channel.uuid}"
        bug = [("Media-Bug-Function", "eavesdrop"), ("Media-Bug-Target", target.uuid)]

        def stop() -> None:
            target.fire("MEDIA_BUG_STOP", before=bug)

        # The eavesdropper reads raw audio from the bug: its read codec becomes L16.
        channel.fire(
            "CODEC",
            site=("switch_core_codec.c", "switch_core_session_set_read_codec", 279),
            after=[
                ("channel-read-codec-name", "L16"),
                ("channel-read-codec-rate", "8000"),
                ("channel-read-codec-bit-rate", "128000"),
            ],
        )
        target.media_bugs[key] = stop
        target.fire("MEDIA_BUG_START", before=bug)
        self.call_update(channel, target, bridged=False)
        channel.eavesdrop_target = target
        # eavesdrop_whisper_aleg: the eavesdropper's voice goes into what the target sends
        # (ED_MUX_READ: its bridge partner hears it); _bleg: into what the target is sent
        # (ED_MUX_WRITE: the target hears it); both: barge.
        aleg = channel.variables.get("eavesdrop_whisper_aleg") == "true"
        bleg = channel.variables.get("eavesdrop_whisper_bleg") == "true"
        channel.eavesdrop_mode = (
            "barge" if aleg and bleg else "whisper-a" if aleg else "whisper-b" if bleg else "listen"
        )
        channel.dtmf_buffer.clear()
        try:
            while channel.up and target.up and not channel.pending_work():
                reason = channel.wait(None, until_dtmf=True)
                if reason == "dtmf":
                    digit = channel.dtmf_buffer.popleft()
                    if digit == "*":
                        break
                    channel.eavesdrop_mode = {
                        "1": "whisper-a",
                        "2": "whisper-b",
                        "3": "barge",
                        "0": "listen",
                    }.get(digit, channel.eavesdrop_mode)
                elif reason == "break" and not channel.pending_work():
                    channel.break_requested = False
                while channel.eavesdrop_commands and channel.eavesdrop_commands[0] not in "0123*":
                    channel.eavesdrop_commands.popleft()
        finally:
            channel.eavesdrop_target = None
            channel.eavesdrop_commands.clear()
            if target.media_bugs.pop(key, None) is not None:
                stop()
            channel.fire(
                "CODEC",
                site=("switch_core_codec.c", "switch_core_session_set_read_codec", 279),
                after=[
                    ("channel-read-codec-name", "PCMU"),
                    ("channel-read-codec-rate", "8000"),
                    ("channel-read-codec-bit-rate", "64000"),
                ],
            )
        channel.set_variable("eavesdrop_result", "success")

    def eavesdrop_command(self, channel: Channel, command: str) -> None:
        """The ``eavesdrop-command`` header of a sendevent queued to the session."""
        if channel.eavesdrop_target is None:
            return
        if command == "*":
            channel.dtmf_buffer.append("*")
        else:
            channel.eavesdrop_mode = {
                "1": "whisper-a",
                "2": "whisper-b",
                "3": "barge",
                "0": "listen",
            }.get(command, channel.eavesdrop_mode)
        channel.signal()

    # ------------------------------------------------------------------ conference
    def app_conference(self, channel: Channel, data: str) -> None:
        from cti.simulator.conference import join_conference

        join_conference(self, channel, data)


def _disposition(channel: Channel, by_peer: bool) -> str:
    """sofia's ``sip_hangup_disposition``: who ended the SIP dialog, and how (1.10.12's
    traces: recv_bye, send_bye, recv_refuse, send_cancel)."""
    if channel.answered:
        return "recv_bye" if by_peer else "send_bye"
    if channel.direction == "outbound":  # the switch called this phone or trunk
        return "recv_refuse" if by_peer else "send_cancel"
    return "recv_cancel" if by_peer else "send_refuse"


def _split_vars(text: str) -> list[str]:
    items: list[str] = []
    current = ""
    escaped = False
    for char in text:
        if char == "\\" and not escaped:
            escaped = True
            continue
        if char == "," and not escaped:
            items.append(current)
            current = ""
        else:
            current += char
        escaped = False
    if current:
        items.append(current)
    return items


def _dialstatus(cause: str) -> str:
    return {
        "USER_BUSY": "BUSY",
        "NO_ANSWER": "NOANSWER",
        "NO_USER_RESPONSE": "NOANSWER",
        "CALL_REJECTED": "BUSY",
        "USER_NOT_REGISTERED": "CHANUNAVAIL",
    }.get(cause, "CHANUNAVAIL")


def headers_lookup(headers: list[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


__all__ = ["Endpoint", "OriginateError", "Switch", "SwitchEvent", "headers_lookup"]


def _int_or_zero(text: str | None) -> int:
    """A variable read as C's atoi reads it: the leading digits, 0 when there are none."""
    digits = ""
    for character in (text or "").strip():
        if not character.isdigit():
            break
        digits += character
    return int(digits) if digits else 0
