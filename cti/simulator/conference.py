"""mod_conference as far as a call center uses it: join, list, mute, hold, kick, events."""

from __future__ import annotations

import json
import time
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.simulator.channel import Channel

if TYPE_CHECKING:
    from cti.simulator.engine import Switch

SUBCLASS = "conference::maintenance"


@dataclass
class Member:
    member_id: int
    channel: Channel
    joined: float
    muted: bool = False
    kicked: bool = False
    # `conference <name> hold`: out of the mix (hard-muted), hearing `hold_file` if one.
    held: bool = False
    hold_file: str = ""


@dataclass
class Conference:
    name: str
    domain: str
    profile: str
    uuid: str
    created: float
    members: list[Member] = field(default_factory=list)
    floor: Member | None = None
    next_id: int = 1


class ConferenceRegistry:
    """All running conferences of one switch and the ``conference`` API command."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.conferences: dict[str, Conference] = {}
        switch.conferences = self.conferences  # type: ignore[assignment]
        switch.conference_registry = self  # type: ignore[attr-defined]

    # -- events ----------------------------------------------------------------------
    def _conference_headers(self, conference: Conference) -> list[tuple[str, str]]:
        return [
            ("Conference-Name", conference.name),
            ("Conference-Domain", conference.domain),
            ("Conference-Size", str(len(conference.members))),
            ("Conference-Ghosts", "0"),
            ("Conference-Profile-Name", conference.profile),
            ("Conference-Unique-ID", conference.uuid),
        ]

    def fire_conference(self, conference: Conference, action: str) -> None:
        event = self.switch.bus.create(
            "CUSTOM",
            subclass=SUBCLASS,
            site=("conference_event.c", "conference_event_send", 0),
        )
        event.extend(self._conference_headers(conference))
        event.add("Action", action)
        self.switch.bus.fire(event)

    def fire_member(self, conference: Conference, member: Member, action: str) -> None:
        floor = conference.floor is member
        event = member.channel.make_event(
            "CUSTOM",
            subclass=SUBCLASS,
            site=("conference_member.c", "conference_member_add", 962),
            before=[*self._conference_headers(conference), ("Floor", str(floor).lower())],
            after=[
                ("Video", "false"),
                ("Hear", "true"),
                ("See", "true"),
                ("Speak", "false" if member.muted else "true"),
                ("Talking", "false"),
                ("Mute-Detect", "false"),
                ("Hold", "true" if member.held else "false"),
                ("Member-ID", str(member.member_id)),
                ("Member-Type", "member"),
                ("Member-Ghost", "false"),
                ("Energy-Level", "100"),
                ("Current-Energy", "0"),
                ("Action", action),
            ],
        )
        self.switch.bus.fire(event)

    # -- membership ------------------------------------------------------------------
    def join(self, channel: Channel, data: str) -> None:
        spec = data.split("+", 1)[0].strip()
        name, _, profile = spec.partition("@")
        profile = profile or "default"
        conference = self.conferences.get(name)
        if conference is None:
            conference = Conference(
                name=name,
                domain=self.switch.global_variables.get("domain", "127.0.0.1"),
                profile=profile,
                uuid=str(uuid_module.uuid4()),
                created=self.switch.clock.now(),
            )
            self.conferences[name] = conference
            self.fire_conference(conference, "conference-create")
        if not channel.answered:
            self.switch.answer(channel)
        self._read_codec(channel, "L16", "128000")
        member = Member(conference.next_id, channel, self.switch.clock.now())
        conference.next_id += 1
        conference.members.append(member)
        channel.conference = (conference, member)
        channel.set_variable("conference_name", name)
        channel.set_variable("conference_member_id", member.member_id)
        channel.set_variable("conference_uuid", conference.uuid)
        self.fire_member(conference, member, "add-member")
        if conference.floor is None:
            conference.floor = member
            self.fire_member(conference, member, "floor-change")
        try:
            while channel.up and not member.kicked and not channel.pending_work():
                reason = channel.wait(None, until_private=True)
                if reason == "private":
                    self.switch._parse_private_events(channel)
                elif reason == "break" and not channel.pending_work() and not member.kicked:
                    channel.break_requested = False
        finally:
            self._leave(conference, member)

    def _leave(self, conference: Conference, member: Member) -> None:
        if member in conference.members:
            conference.members.remove(member)
        channel = member.channel
        channel.conference = None
        if conference.floor is member:
            conference.floor = conference.members[0] if conference.members else None
        self.fire_member(conference, member, "del-member")
        self._read_codec(channel, "PCMU", "64000")
        if not conference.members:
            self.conferences.pop(conference.name, None)
            self.fire_conference(conference, "conference-destroy")

    def _read_codec(self, channel: Channel, name: str, bit_rate: str) -> None:
        # Members are read as L16 by the mixer; the original codec returns when they leave.
        channel.fire(
            "CODEC",
            site=("switch_core_codec.c", "switch_core_session_set_read_codec", 279),
            after=[
                ("channel-read-codec-name", name),
                ("channel-read-codec-rate", "8000"),
                ("channel-read-codec-bit-rate", bit_rate),
            ],
        )

    # -- api ---------------------------------------------------------------------------
    def api(self, argument: str) -> str:
        words = argument.split()
        if not words:
            return "-ERR no conference name\n"
        if words[0] == "list" and len(words) == 1:
            return "".join(self._list(c) for c in self.conferences.values())
        if words[0] == "json_list" and len(words) == 1:
            return self._json_list(list(self.conferences.values()))
        conference = self.conferences.get(words[0])
        if conference is None:
            return f"-ERR Conference {words[0]} not found\n"
        if len(words) < 2:
            return "-ERR missing command\n"
        command, args = words[1], words[2:]
        if command == "list":
            return self._list(conference)
        if command == "json_list":
            return self._json_list([conference])
        if command == "count":
            return f"{len(conference.members)}\n"
        if command in ("mute", "unmute", "kick", "hup", "hold", "unhold"):
            return self._member_command(
                conference, command, args[0] if args else "", " ".join(args[1:])
            )
        return f"-ERR {command} not supported by the simulator\n"

    def _targets(self, conference: Conference, who: str) -> list[Member]:
        if who == "all":
            return list(conference.members)
        if who == "last":  # the newest member (the highest id; the source says "oldest")
            return conference.members[-1:]
        if "=" in who and not who.split("=", 1)[0].isdigit():
            # var=value: the first member whose channel has it ("uuid" is the channel's).
            name, _, value = who.partition("=")
            for member in conference.members:
                channel = member.channel
                found = channel.uuid if name == "uuid" else channel.variables.get(name)
                if found is not None and str(found) == value and not member.kicked:
                    return [member]
            return []
        return [m for m in conference.members if str(m.member_id) == who]

    def _member_command(
        self, conference: Conference, command: str, who: str, data: str = ""
    ) -> str:
        targets = self._targets(conference, who)
        if not targets:
            if "=" in who:
                return "-ERR Non-Existant member\n"
            return f"-ERR Non-Existant ID {who}\n"
        for member in targets:
            if command == "mute":
                member.muted = True
                self.fire_member(conference, member, "mute-member")
            elif command == "unmute":
                member.muted = False
                self.fire_member(conference, member, "unmute-member")
            elif command == "hold":
                member.held, member.hold_file = True, data
                self.fire_member(conference, member, "hold-member")
            elif command == "unhold":
                member.held, member.hold_file = False, ""
                self.fire_member(conference, member, "unhold-member")
            else:
                member.kicked = True
                self.fire_member(conference, member, "kick-member")
                member.channel.break_requested = True
                member.channel.signal()
        verbs = {
            "mute": "mute",
            "unmute": "unmute",
            "kick": "kicked",
            "hup": "hup",
            "hold": "hold",
            "unhold": "unhold",
        }
        if who == "all":
            return "".join(f"+OK {verbs[command]} {m.member_id}\n" for m in targets[-1:])
        return "".join(f"+OK {verbs[command]} {m.member_id}\n" for m in targets)

    def _flags(self, member: Member, conference: Conference) -> str:
        if member.held:  # mod_conference.c lists a held member as "hold" alone
            flags = ["hold"]
        else:
            flags = ["hear"]
            if not member.muted:
                flags.append("speak")
        if conference.floor is member:
            flags.append("floor")
        return "|".join(flags)

    def _list(self, conference: Conference) -> str:
        lines = []
        for member in reversed(conference.members):
            profile = member.channel.caller_profile
            lines.append(
                f"{member.member_id};{member.channel.name};{member.channel.uuid};"
                f"{profile.caller_id_name if profile else ''};"
                f"{profile.caller_id_number if profile else ''};"
                f"{self._flags(member, conference)};0;0;100\n"
            )
        return "".join(lines)

    def _json_list(self, conferences: list[Conference]) -> str:
        now = self.switch.clock.now()
        result = []
        for conference in conferences:
            members = []
            for member in reversed(conference.members):
                profile = member.channel.caller_profile
                members.append(
                    {
                        "type": "caller",
                        "id": member.member_id,
                        "flags": {
                            "can_hear": True,
                            "can_see": True,
                            "can_speak": not member.muted,
                            "hold": False,
                            "mute_detect": False,
                            "talking": False,
                            "has_video": False,
                            "video_bridge": False,
                            "has_floor": conference.floor is member,
                            "is_moderator": False,
                            "end_conference": False,
                        },
                        "uuid": member.channel.uuid,
                        "caller_id_name": profile.caller_id_name if profile else "",
                        "caller_id_number": profile.caller_id_number if profile else "",
                        "join_time": int(now - member.joined),
                        "last_talking": 0,
                        "energy": 100,
                        "volume_in": 0,
                        "volume_out": 0,
                        "output-volume": 0,
                        "input-volume": 0,
                    }
                )
            result.append(
                {
                    "conference_name": conference.name,
                    "member_count": len(conference.members),
                    "ghost_count": 0,
                    "rate": 8000,
                    "run_time": int(now - conference.created),
                    "conference_uuid": conference.uuid,
                    "running": True,
                    "answered": True,
                    "enforce_min": True,
                    "dynamic": True,
                    "exit_sound": True,
                    "enter_sound": True,
                    "recording": False,
                    "video_bridge": False,
                    "video_floor_only": False,
                    "video_rfc4579": False,
                    "variables": {},
                    "members": members,
                }
            )
        text = json.dumps(result, indent="\t", separators=(",", ":\t"))
        return text.replace("\n", "\n\t" if False else "\n")


def join_conference(switch: Switch, channel: Channel, data: str) -> None:
    registry: ConferenceRegistry | None = getattr(switch, "conference_registry", None)
    if registry is None:
        registry = ConferenceRegistry(switch)
    registry.join(channel, data)


__all__ = ["Conference", "ConferenceRegistry", "Member", "join_conference", "time"]
