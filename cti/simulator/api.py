"""API commands (``api`` / ``bgapi``) with FreeSWITCH's exact output text."""

from __future__ import annotations

import json
import time
import uuid as uuid_module
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent

from cti.simulator.channel import Channel
from cti.simulator.engine import OriginateError, Switch

if TYPE_CHECKING:
    from cti.simulator.conference import ConferenceRegistry

NO_SUCH_CHANNEL = "-ERR No such channel!\n"
VERSION = "1.10.12-release~64bit"

CHANNEL_COLUMNS = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
]
CALL_COLUMNS = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
    "b_uuid",
    "b_direction",
    "b_created",
    "b_created_epoch",
    "b_name",
    "b_state",
    "b_cid_name",
    "b_cid_num",
    "b_ip_addr",
    "b_dest",
    "b_presence_id",
    "b_presence_data",
    "b_accountcode",
    "b_callstate",
    "b_callee_name",
    "b_callee_num",
    "b_callee_direction",
    "b_sent_callee_name",
    "b_sent_callee_num",
    "call_created_epoch",
]


class ApiCommands:
    """Runs one API command and returns (found, output) like switch_api_execute."""

    def __init__(self, switch: Switch, conferences: ConferenceRegistry, hostname: str) -> None:
        self.switch = switch
        self.conferences = conferences
        self.hostname = hostname
        self.commands: dict[str, Callable[[str, Channel | None], str]] = {
            "status": self.status,
            "version": self.version,
            "create_uuid": self.create_uuid,
            "originate": self.originate,
            "uuid_bridge": self.uuid_bridge,
            "uuid_transfer": self.uuid_transfer,
            "uuid_hold": self.uuid_hold,
            "uuid_record": self.uuid_record,
            "uuid_kill": self.uuid_kill,
            "uuid_setvar": self.uuid_setvar,
            "uuid_getvar": self.uuid_getvar,
            "uuid_broadcast": self.uuid_broadcast,
            "uuid_answer": self.uuid_answer,
            "uuid_phone_event": self.uuid_phone_event,
            "sofia_contact": self.sofia_contact,
            "uuid_exists": self.uuid_exists,
            "uuid_break": self.uuid_break,
            "uuid_park": self.uuid_park,
            "uuid_dump": self.uuid_dump,
            "show": self.show,
            "global_getvar": self.global_getvar,
            "global_setvar": self.global_setvar,
            "conference": self.conference,
            "strftime": self.strftime,
            "strmicroepoch": self.strmicroepoch,
            "eval": self.eval,
            "expand": self.expand,
            "hupall": self.hupall,
            "sofia": self.sofia,
            "db": self.db,
        }
        # mod_db's table (realm, key) -> value; the switch keeps it on disk, across calls.
        self.db_rows: dict[tuple[str, str], str] = {}

    def execute(
        self, command: str, argument: str, session: Channel | None = None
    ) -> tuple[bool, str]:
        command = command.strip()
        argument = (argument or "").strip()
        handler = self.commands.get(command)
        if handler is None:
            output = "INVALID COMMAND!\n"
            found = False
        else:
            output = handler(argument, session)
            found = True
        self.switch.fire_api_event(command, argument)
        return found, output

    # -- core ------------------------------------------------------------------------
    def status(self, argument: str, session: Channel | None) -> str:
        uptime = self.switch.clock.now() - self.switch.started_at
        up = _uptime_text(uptime)
        count = len(self.switch.channels)
        return (
            f"UP {up}\n"
            "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{self.switch.sessions_since_startup} session(s) since startup\n"
            f"{count} session(s) - peak {self.switch.peak_sessions}, last 5min "
            f"{self.switch.peak_sessions} \n"
            "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
            "1000 session(s) max\n"
            "min idle cpu 0.00/99.53\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    def version(self, argument: str, session: Channel | None) -> str:
        return f"FreeSWITCH Version {VERSION} ( 64bit)\n"

    def create_uuid(self, argument: str, session: Channel | None) -> str:
        return str(uuid_module.uuid4())

    def global_getvar(self, argument: str, session: Channel | None) -> str:
        if not argument:
            return "".join(f"{k}={v}\n" for k, v in self.switch.global_variables.items())
        return self.switch.global_variables.get(argument, "")

    def global_setvar(self, argument: str, session: Channel | None) -> str:
        name, _, value = argument.partition("=")
        self.switch.global_variables[name.strip()] = value.strip()
        return "+OK"

    def strftime(self, argument: str, session: Channel | None) -> str:
        pattern = argument or "%Y-%m-%d %T"
        pattern = pattern.replace("%T", "%H:%M:%S")
        return time.strftime(pattern, time.localtime(self.switch.clock.now()))

    def strmicroepoch(self, argument: str, session: Channel | None) -> str:
        """mod_dptools strmicroepoch: now, or a local ``YYYY-MM-DD HH:MM:SS``, in epoch
        microseconds (switch_str_time gives 0 for a date it cannot read)."""
        if not argument:
            return str(self.switch.clock.now_us())
        try:
            moment = time.mktime(time.strptime(argument.strip(), "%Y-%m-%d %H:%M:%S"))
        except ValueError:
            return "0"
        return str(int(moment * 1_000_000))

    def eval(self, argument: str, session: Channel | None) -> str:
        return self.switch.expand(session, argument)

    def expand(self, argument: str, session: Channel | None) -> str:
        command, _, rest = self.switch.expand(session, argument).partition(" ")
        return self.execute(command, rest, session)[1]

    def db(self, argument: str, session: Channel | None) -> str:
        """mod_db's ``db`` API (db_api_function): ``insert/realm/key/value``,
        ``delete/realm/key``, ``select/realm/key``, ``exists/realm/key``, ``count[/realm]``,
        ``list[/realm]``. The argument splits on ``/`` into at most four parts (the value
        keeps its own); a select reads into 256 bytes and a list into 4,096."""
        parts = [part.strip() for part in argument.split("/", 3)] if argument else []
        if not parts:
            return "!err!"
        action, args = parts[0].lower(), parts[1:]
        rows = self.db_rows
        if action == "insert" and len(args) == 3:
            rows.pop((args[0], args[1]), None)
            rows[(args[0], args[1])] = args[2]
            return "+OK"
        if action == "delete" and args:
            rows.pop((args[0], args[1] if len(args) > 1 else ""), None)
            return "+OK"
        if action in ("select", "exists") and len(args) >= 2:
            value = rows.get((args[0], args[1]), "")[:255]
            if action == "select":
                return value
            return "true" if value else "false"
        if action == "count" and len(args) <= 1:
            if not args:
                return str(len({realm for realm, _ in rows}))
            return str(sum(1 for realm, _ in rows if realm == args[0]))
        if action == "list" and len(args) <= 1:
            if args:
                names = list(dict.fromkeys(key for realm, key in rows if realm == args[0]))
            else:
                names = list(dict.fromkeys(realm for realm, _ in rows))
            # Each name with its comma, into 4,096 bytes, then the last character cut.
            return "".join(f"{name}," for name in names)[:4095][:-1]
        return "!err!"

    def sofia(self, argument: str, session: Channel | None) -> str:
        if argument.strip() != "status":
            return "-ERR Usage: sofia status\n"
        rule = "=" * 97
        return (
            f"{'Name':>25}\t{'Type':>7}\t{'Data':>42}\tState\n{rule}\n"
            f"{'127.0.0.1':>25}\t{'alias':>7}\t{'internal':>42}\tALIASED\n"
            f"{'internal':>25}\t{'profile':>7}\t{'sip:mod_sofia@127.0.0.1:5060':>42}\t"
            f"RUNNING (0)\n{rule}\n1 profile 1 alias\n"
        )

    # -- originate -------------------------------------------------------------------
    def originate(self, argument: str, session: Channel | None) -> str:
        if not argument:
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"  # noqa: E501
        dial_string, extension, rest = _split_originate(argument)
        # rest = [extension, dialplan, context, cid_name, cid_num, timeout]
        timeout = None
        if len(rest) >= 6:
            try:
                timeout = float(rest[5])
            except ValueError:
                timeout = None
        extra: dict[str, str] = {}
        if len(rest) >= 4 and rest[3] != "undef":
            extra["origination_caller_id_name"] = rest[3]
        if len(rest) >= 5 and rest[4] != "undef":
            extra["origination_caller_id_number"] = rest[4]
        try:
            leg = self.switch.originate(dial_string, timeout=timeout, extra_variables=extra)
        except OriginateError as error:
            return f"-ERR {error.cause}\n"
        self.switch.flip_caller_id(leg)
        self.switch.call_update(leg)
        if extension.startswith("&"):
            inner = extension[1:]
            name, _, data = inner.partition("(")
            data = data[:-1] if data.endswith(")") else data
            leg.pending_apps = [(name, data)]
            leg.bridge_role = None
            leg.hit_dialplan = False
        else:
            context = rest[2] if len(rest) > 2 else "default"
            leg.bridge_role = None
            if leg.caller_profile is not None:
                leg.caller_profile.context = context
            self.switch.transfer(leg, extension, "XML", context)
        leg.state = 4
        self.switch.spawn(self._start_leg, leg)
        return f"+OK {leg.uuid}\n"

    def _start_leg(self, leg: Channel) -> None:
        if leg.down:
            return
        leg.set_running_state("CS_EXECUTE", 4)
        leg.break_requested = True
        leg.signal()

    # -- uuid commands ---------------------------------------------------------------
    def _channel(self, uuid: str) -> Channel | None:
        # switch_core_session_locate takes a read lock, refused from CS_HANGUP on: a channel
        # hung up is no longer found, even while a lingering socket still holds it.
        channel = self.switch.locate(uuid.strip())
        if channel is None or channel.down:
            return None
        return channel

    def snapshot_row(self, channel: Channel) -> None:
        """Freeze the channel's row as the core database last stored it (before hangup)."""
        channel.db_row = None
        channel.db_row = self._channel_row(channel)

    def uuid_kill(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        channel = self._channel(parts[0]) if parts else None
        if channel is None:
            return NO_SUCH_CHANNEL
        self.switch.hangup(channel, parts[1] if len(parts) > 1 else "NORMAL_CLEARING")
        return "+OK\n"

    def uuid_getvar(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> <var>\n"
        channel = self._channel(parts[0])
        if channel is None:
            return NO_SUCH_CHANNEL
        value = channel.variables.get(parts[1])
        return value if value is not None else "_undef_"

    def uuid_setvar(self, argument: str, session: Channel | None) -> str:
        parts = argument.split(maxsplit=2)
        if len(parts) < 2:
            return "-USAGE: <uuid> <var> [value]\n"
        channel = self._channel(parts[0])
        if channel is None:
            return NO_SUCH_CHANNEL
        channel.set_variable(parts[1], parts[2] if len(parts) > 2 else None)
        return "+OK\n"

    def uuid_exists(self, argument: str, session: Channel | None) -> str:
        return "true" if self._channel(argument) else "false"

    def uuid_answer(self, argument: str, session: Channel | None) -> str:
        channel = self._channel(argument.split()[0]) if argument else None
        if channel is None:
            return NO_SUCH_CHANNEL
        self.switch.answer(channel)
        return "+OK\n"

    def uuid_phone_event(self, argument: str, session: Channel | None) -> str:
        """mod_sofia's phone event: "talk" makes a ringing phone answer (SIP NOTIFY talk)."""
        parts = argument.split()
        channel = self._channel(parts[0]) if parts else None
        if channel is None:
            return NO_SUCH_CHANNEL
        event = parts[1] if len(parts) > 1 else "talk"
        if event == "talk" and not channel.answered and channel.up:
            self.switch.answer(channel)
        elif event == "hold" and channel.partner is not None:
            self.switch.hold(channel.partner)
        return "+OK\n"

    def sofia_contact(self, argument: str, session: Channel | None) -> str:
        """The registered contact of a user, or error/user_not_registered (no newline)."""
        user = (argument.split()[0] if argument else "").split("@", 1)[0]
        if "/" in user:
            user = user.rsplit("/", 1)[-1]
        endpoint = self.switch.endpoints.get(user)
        if endpoint is None or not endpoint.registered:
            return "error/user_not_registered"
        return f"sofia/internal/sip:{endpoint.user}@{endpoint.host}:{endpoint.port}"

    def uuid_break(self, argument: str, session: Channel | None) -> str:
        channel = self._channel(argument.split()[0]) if argument else None
        if channel is None:
            return NO_SUCH_CHANNEL
        channel.break_requested = True
        channel.signal()
        return "+OK\n"

    def uuid_park(self, argument: str, session: Channel | None) -> str:
        channel = self._channel(argument.split()[0]) if argument else None
        if channel is None:
            return NO_SUCH_CHANNEL
        channel.transfer_target = None
        channel.pending_apps = [("park", "")]
        channel.break_requested = True
        channel.signal()
        return "+OK\n"

    def uuid_bridge(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> <other_uuid>\n"
        a_leg, b_leg = self._channel(parts[0]), self._channel(parts[1])
        if a_leg is None or b_leg is None:
            return f"-ERR Invalid uuid {parts[1] if a_leg else parts[0]}\n"
        self.switch.uuid_bridge(a_leg, b_leg)
        return f"+OK {b_leg.uuid}\n"

    def uuid_transfer(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        channel = self._channel(parts[0])
        if channel is None:
            return NO_SUCH_CHANNEL
        args = parts[1:]
        targets: list[Channel] = [channel]
        if args[0] in ("-bleg", "-both"):
            partner = channel.partner
            candidates = [partner] if args[0] == "-bleg" else [channel, partner]
            targets = [t for t in candidates if t is not None]
            args = args[1:]
        destination = args[0]
        dialplan = args[1] if len(args) > 1 else "XML"
        context = args[2] if len(args) > 2 else None
        for target in targets:
            self.switch.transfer(target, destination, dialplan, context)
        return "+OK\n"

    def uuid_hold(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        if not parts:
            return "-USAGE: [off|toggle] <uuid> [<display>]\n"
        mode = "on"
        if parts[0] in ("off", "toggle"):
            mode = parts[0]
            parts = parts[1:]
        channel = self._channel(parts[0]) if parts else None
        if channel is None:
            return NO_SUCH_CHANNEL
        if mode == "toggle":
            mode = "off" if channel.held else "on"
        if mode == "off":
            self.switch.unhold(channel)
        else:
            self.switch.hold(channel)
        return "+OK Success\n"

    def uuid_record(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        if len(parts) < 3:
            return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n"
        channel = self._channel(parts[0])
        if channel is None:
            return NO_SUCH_CHANNEL
        action = parts[1]
        path = self.switch._recording_path(parts[2])
        if action == "start":
            ok = self.switch.start_recording(channel, path)
            return "+OK Success\n" if ok else "-ERR Cannot record session!\n"
        if action == "stop":
            ok = self.switch.stop_recording(channel, path)
            return "+OK Success\n" if ok else "-ERR Cannot stop record session!\n"
        if action in ("mask", "unmask"):
            return "+OK Success\n"
        return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n"

    def uuid_broadcast(self, argument: str, session: Channel | None) -> str:
        parts = argument.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> <path> [aleg|bleg|both]\n"
        channel = self._channel(parts[0])
        if channel is None:
            return NO_SUCH_CHANNEL
        legs = parts[2] if len(parts) > 2 else "aleg"
        targets = []
        if legs in ("aleg", "both"):
            targets.append(channel)
        if legs in ("bleg", "both") and channel.partner is not None:
            targets.append(channel.partner)
        for target in targets:
            self.switch.broadcast(target, parts[1])
        return "+OK Message sent\n"

    def uuid_dump(self, argument: str, session: Channel | None) -> str:
        channel = self._channel(argument.split()[0]) if argument else None
        if channel is None:
            return NO_SUCH_CHANNEL
        event = channel.make_event("CHANNEL_DATA")
        return "".join(f"{name}: {value}\n" for name, value in event.headers) + "\n"

    def hupall(self, argument: str, session: Channel | None) -> str:
        cause = argument.split()[0] if argument else "MANAGER_REQUEST"
        for channel in list(self.switch.channels.values()):
            self.switch.hangup(channel, cause)
        return "+OK hangup all channels with cause " + cause + "\n"

    # -- show ------------------------------------------------------------------------
    def _channel_row(self, channel: Channel) -> dict[str, str]:
        if channel.db_row is not None:
            return dict(channel.db_row)
        profile = channel.caller_profile
        created = channel.get_time("created") or channel.created_us
        app = channel.current_app or ""
        return {
            "uuid": channel.uuid,
            "direction": channel.direction,
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created / 1e6)),
            "created_epoch": str(int(created / 1e6)),
            "name": channel.name,
            "state": channel.running_state,
            "cid_name": profile.caller_id_name if profile else "",
            "cid_num": profile.caller_id_number if profile else "",
            "ip_addr": profile.network_addr if profile else "",
            "dest": profile.destination_number if profile else "",
            "application": app,
            "application_data": channel.variables.get("current_application_data", "")
            if app
            else "",
            "dialplan": profile.dialplan if profile else "",
            "context": profile.context if profile else "",
            "read_codec": "PCMU" if channel.codec_ready else "",
            "read_rate": "8000" if channel.codec_ready else "",
            "read_bit_rate": "64000" if channel.codec_ready else "",
            "write_codec": "PCMU" if channel.codec_ready else "",
            "write_rate": "8000" if channel.codec_ready else "",
            "write_bit_rate": "64000" if channel.codec_ready else "",
            "secure": "",
            "hostname": self.hostname,
            "presence_id": channel.variables.get("presence_id", ""),
            "presence_data": "",
            "accountcode": "",
            "callstate": channel.callstate,
            "callee_name": profile.callee_id_name if profile else "",
            "callee_num": profile.callee_id_number if profile else "",
            "callee_direction": "",
            "call_uuid": channel.uuid,
            "sent_callee_name": "",
            "sent_callee_num": "",
            "initial_cid_name": profile.orig_caller_id_name if profile else "",
            "initial_cid_num": profile.orig_caller_id_number if profile else "",
            "initial_ip_addr": profile.network_addr if profile else "",
            "initial_dest": profile.destination_number if profile else "",
            "initial_dialplan": profile.dialplan if profile else "",
            "initial_context": profile.context if profile else "",
        }

    def _rows(self, what: str) -> tuple[list[str], list[dict[str, str]]]:
        channels = sorted(self.switch.listed_channels(), key=lambda c: c.created_us)
        if what == "channels":
            return CHANNEL_COLUMNS, [self._channel_row(c) for c in channels]
        rows = []
        seen: set[str] = set()
        for channel in channels:
            if channel.uuid in seen:
                continue
            row = {k: v for k, v in self._channel_row(channel).items() if k in CALL_COLUMNS}
            partner = channel.partner
            if partner is not None:
                seen.add(partner.uuid)
                b_row = self._channel_row(partner)
                for column in CALL_COLUMNS:
                    if column.startswith("b_"):
                        row[column] = b_row.get(column[2:], "")
            else:
                for column in CALL_COLUMNS:
                    if column.startswith("b_"):
                        row[column] = ""
            row["call_created_epoch"] = row["created_epoch"] if partner is not None else ""
            if partner is None:
                # FreeSWITCH fills the calls table's call_uuid only for bridged calls.
                row["call_uuid"] = ""
            seen.add(channel.uuid)
            rows.append({column: row.get(column, "") for column in CALL_COLUMNS})
        return CALL_COLUMNS, rows

    def show(self, argument: str, session: Channel | None) -> str:
        words = argument.split()
        if not words:
            return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"  # noqa: E501
        what = words[0]
        as_json = len(words) >= 3 and words[-2] == "as" and words[-1] == "json"
        if what not in ("channels", "calls", "bridged_calls"):
            return f"-ERR Invalid {what} command\n" if what else ""
        if what == "bridged_calls":
            columns, rows = self._rows("calls")
            rows = [row for row in rows if row.get("b_uuid")]
        else:
            columns, rows = self._rows(what)
        if len(words) >= 2 and words[1] == "count":
            return f"\n{len(rows)} total.\n"
        if as_json:
            if not rows:
                return '{"row_count": 0}\n'
            return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
        lines = [",".join(columns)]
        lines.extend(",".join(row.get(column, "") for column in columns) for row in rows)
        body = "\n".join(lines) if rows else ""
        return f"{body}\n\n{len(rows)} total.\n" if rows else f"\n{len(rows)} total.\n"

    # -- conference ------------------------------------------------------------------
    def conference(self, argument: str, session: Channel | None) -> str:
        return self.conferences.api(argument)


def _uptime_text(seconds: float) -> str:
    total_us = int(seconds * 1_000_000)
    us = total_us % 1000
    ms = (total_us // 1000) % 1000
    secs = (total_us // 1_000_000) % 60
    minutes = (total_us // 60_000_000) % 60
    hours = (total_us // 3_600_000_000) % 24
    days = (total_us // 86_400_000_000) % 365
    years = total_us // (86_400_000_000 * 365)
    return (
        f"{years} years, {days} days, {hours} hours, {minutes} minutes, {secs} seconds, "
        f"{ms} milliseconds, {us} microseconds"
    )


def _split_originate(argument: str) -> tuple[str, str, list[str]]:
    """Split ``<dial string> <exten|&app(args)> [dialplan] [context] ...`` (braces kept)."""
    depth = 0
    tokens: list[str] = []
    current = ""
    paren = 0
    for char in argument:
        if char == "{" or char == "[":
            depth += 1
        elif char == "}" or char == "]":
            depth -= 1
        elif char == "(":
            paren += 1
        elif char == ")":
            paren -= 1
        if char == " " and depth == 0 and paren == 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    dial_string = tokens[0] if tokens else ""
    extension = tokens[1] if len(tokens) > 1 else "&park()"
    return dial_string, extension, tokens[1:]


def run_bgapi(
    commands: ApiCommands,
    command: str,
    argument: str,
    owner: Channel | None,
) -> gevent.Greenlet:
    """Helper used by the ESL layer to run a background job."""
    return gevent.spawn(commands.execute, command, argument, owner)
