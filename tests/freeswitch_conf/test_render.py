"""The FreeSWITCH configuration renderer: golden files, escaping, validation, atomic writes."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from freeswitch_conf import failover
from freeswitch_conf.render import (
    PUBLIC_DIALPLAN_PATH,
    TEMPLATES_DIR,
    Agent,
    ContextError,
    Did,
    EventSocket,
    Gateway,
    InternalProfile,
    RenderContext,
    RenderError,
    RingGroup,
    UnknownDidRoute,
    main,
    parse_socket_address,
    render_all,
    render_to_memory,
)

HERE = Path(__file__).parent
GOLDEN_DIR = HERE / "golden"
GOLDEN_CONTEXT = GOLDEN_DIR / "context.json"
GOLDEN_CONF = GOLDEN_DIR / "conf"
REPO_ROOT = HERE.parent.parent
EXAMPLE_CONTEXT = REPO_ROOT / "freeswitch_conf" / "example_context.json"

EXPECTED_FILES = {
    "autoload_configs/event_socket.conf.xml",
    "dialplan/public.xml",
    "dialplan/public/00_callcenter.xml",
    "directory/callcenter.xml",
    "sip_profiles/external.xml",
    "sip_profiles/internal.xml",
    "vars/callcenter.xml",
}


def golden_context() -> RenderContext:
    return RenderContext.from_dict(json.loads(GOLDEN_CONTEXT.read_text(encoding="utf-8")))


def small_context(**changes: object) -> RenderContext:
    context = RenderContext(
        domain="cc.test",
        daemon_socket="127.0.0.1:8084",
        dids=(Did("+15550001", "hotline", "en"), Did("5550002", "sales", "zh")),
        agents=(
            Agent("1001", "7001", "Ann", "password-1001"),
            Agent("1002", "7002", "Bob", "password-1002"),
        ),
        ring_group=RingGroup(("1001", "1002"), call_timeout=20, closing_prompt="closed.wav"),
        event_socket=EventSocket(password="ClueCon"),
        recordings_dir="/var/lib/callcenter/recordings",
    )
    return dataclasses.replace(context, **changes)  # type: ignore[arg-type]


def canonical(xml_text: str) -> str:
    """C14N 2.0 of the document, comments and indentation left out."""
    return etree.canonicalize(xml_data=xml_text, with_comments=False, strip_text=True)


def parse(xml_text: str) -> etree._Element:
    return etree.fromstring(xml_text.encode("utf-8"))


def public_dialplan(context: RenderContext) -> etree._Element:
    return parse(render_to_memory(context)[PUBLIC_DIALPLAN_PATH])


def actions_of(extension: etree._Element) -> list[tuple[str, str]]:
    return [
        (action.get("application"), action.get("data", ""))
        for action in extension.find("condition").iter("action")
    ]


# --------------------------------------------------------------------------------------------
# Golden files


def test_rendered_tree_matches_golden_files(tmp_path: Path) -> None:
    written = render_all(golden_context(), tmp_path)
    rendered = {path.relative_to(tmp_path).as_posix(): path for path in written}
    assert set(rendered) == EXPECTED_FILES

    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN_CONF, ignore_errors=True)
        for relative, path in rendered.items():
            destination = GOLDEN_CONF / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)

    golden = {path.relative_to(GOLDEN_CONF).as_posix(): path for path in GOLDEN_CONF.rglob("*.xml")}
    assert set(golden) == set(rendered), "golden files and rendered files differ in name"
    for relative in sorted(rendered):
        got = canonical(rendered[relative].read_text(encoding="utf-8"))
        want = canonical(golden[relative].read_text(encoding="utf-8"))
        if got != want:
            diff = "\n".join(
                difflib.unified_diff(
                    want.replace("><", ">\n<").splitlines(),
                    got.replace("><", ">\n<").splitlines(),
                    f"golden/{relative}",
                    f"rendered/{relative}",
                    lineterm="",
                )
            )
            pytest.fail(
                f"{relative} differs from its golden file (UPDATE_GOLDEN=1 regenerates):\n{diff}"
            )


def test_output_does_not_depend_on_input_order() -> None:
    context = golden_context()
    shuffled = dataclasses.replace(
        context,
        dids=tuple(reversed(context.dids)),
        agents=tuple(reversed(context.agents)),
        gateways=tuple(reversed(context.gateways)),
    )
    assert render_to_memory(shuffled) == render_to_memory(context)


def test_example_context_in_the_docs_renders(tmp_path: Path) -> None:
    context = RenderContext.from_dict(json.loads(EXAMPLE_CONTEXT.read_text(encoding="utf-8")))
    assert {p.relative_to(tmp_path).as_posix() for p in render_all(context, tmp_path)} == (
        EXPECTED_FILES
    )


# --------------------------------------------------------------------------------------------
# The public dialplan


def test_every_did_hands_the_call_to_the_daemon_then_fails_over_to_the_ring_group() -> None:
    context = golden_context()
    root = public_dialplan(context)
    assert root.tag == "include"
    (public,) = root.findall("context")
    assert public.get("name") == "public"
    extensions = public.findall("extension")
    assert len(extensions) == len(context.dids) + 1

    ring = "user/1001@${domain_name},user/1002@${domain_name},user/1003@${domain_name}"
    numbers = [did.number for did in context.dids]
    for did in context.dids:
        (extension,) = [e for e in extensions if e.get("name") == f"cc_did_{did.number}"]
        condition = extension.find("condition")
        assert condition.get("field") == "destination_number"
        expression = condition.get("expression")
        matching = [n for n in numbers if re.search(expression, n)]
        assert matching == [did.number]
        assert not re.search(expression, did.number + "9")

        actions = actions_of(extension)
        applications = [application for application, _data in actions]
        socket_at = applications.index("socket")
        bridge_at = applications.index("bridge")
        assert actions[socket_at][1] == "127.0.0.1:8084 async full"
        # A daemon that died (or none there): the socket is tried again after each pause, so
        # a standby taking over takes the caller up; then the failover.
        retries = actions[socket_at + 1 : socket_at + 1 + 2 * len(context.rejoin_pauses_ms)]
        assert retries == [
            action
            for pause in context.rejoin_pauses_ms
            for action in (("sleep", str(pause)), ("socket", "127.0.0.1:8084 async full"))
        ]
        assert applications.count("socket") == 1 + len(context.rejoin_pauses_ms) > 1

        before_socket = dict(
            data.split("=", 1) for application, data in actions[:socket_at] if application == "set"
        )
        assert before_socket["cc_did"] == did.number
        assert before_socket["cc_flow"] == did.flow
        assert before_socket["cc_language"] == did.language
        assert before_socket["domain_name"] == "cc.example.com"
        assert before_socket["continue_on_fail"] == "true"
        assert before_socket["hangup_after_bridge"] == "true"

        # The failover comes after the socket and rings every group member at once.
        assert bridge_at > socket_at
        assert actions[bridge_at][1] == ring
        between = dict(
            data.split("=", 1)
            for application, data in actions[socket_at + 1 : bridge_at]
            if application == "set"
        )
        assert between["cc_failover"] == "true"
        assert between["call_timeout"] == "25"
        prompt = (
            "/usr/share/callcenter/prompts/zh/closed.wav"
            if did.language == "zh"
            else ("/usr/share/callcenter/prompts/en/closed.wav")
        )
        assert actions[bridge_at + 1 :] == [
            ("answer", ""),
            ("playback", prompt),
            ("hangup", "NORMAL_CLEARING"),
        ]

    catch_all = extensions[-1]
    assert catch_all.get("name") == "cc_unknown_did"
    assert catch_all.find("condition").get("expression") == "^.*$"
    assert actions_of(catch_all)[-1] == ("hangup", "UNALLOCATED_NUMBER")
    assert "socket" not in [application for application, _ in actions_of(catch_all)]


def test_nothing_caller_controlled_reaches_action_data() -> None:
    """${...} in a variable's value is expanded again, API calls included: never echo input
    into what the dialplan runs. The one exception is the failover's hangup hook, which
    stores the numbers as data once the call is over: escaped, so nothing is expanded when
    the dialplan runs, and mod_sofia turns a caller's ``${`` into ``%{`` on the way in
    (switch_var_clean_string), so the hook's expansion cannot run a caller's API call."""
    context = small_context(unknown_did=UnknownDidRoute("default_flow", "en"))
    hooks = 0
    actions = list(public_dialplan(context).iter("action"))
    for element in actions:
        data = element.get("data", "")
        if data.startswith("api_hangup_hook="):
            hooks += 1
            assert data == "api_hangup_hook=" + failover.hangup_hook()
            assert data.startswith("api_hangup_hook=db insert/cc_failover/${uuid}/")
            data = re.sub(r"\\{3}\$\{Caller-(Destination-Number|Caller-ID-Number)\}", "", data)
            assert "Caller-" not in data
        assert "destination_number" not in data.lower().replace("-", "_")
        assert "caller_id" not in data.lower().replace("-", "_")
        assert not re.search(r"\$\d", data)
    # One in each failover (the DIDs' and the unknown DIDs'), and nowhere else.
    failovers = [a for a in actions if a.get("data") == "cc_failover=true"]
    assert hooks == len(failovers) >= 2


def test_unknown_dids_can_go_to_the_daemon_with_a_default_flow() -> None:
    context = small_context(unknown_did=UnknownDidRoute("default_flow", "zh"))
    catch_all = public_dialplan(context).findall("context/extension")[-1]
    actions = actions_of(catch_all)
    applications = [application for application, _ in actions]
    assert ("set", "cc_unknown_did=true") in actions
    assert ("set", "cc_flow=default_flow") in actions
    assert applications.index("socket") < applications.index("bridge")
    assert actions[applications.index("bridge")][1] == (
        "user/1001@${domain_name},user/1002@${domain_name}"
    )


def test_voicemail_fallback_records_in_the_mailbox() -> None:
    group = RingGroup(("1001", "1002"), fallback="voicemail", voicemail_box="1002")
    extension = public_dialplan(small_context(ring_group=group)).find("context/extension")
    assert actions_of(extension)[-3:] == [
        ("answer", ""),
        ("voicemail", "default ${domain_name} 1002"),
        ("hangup", "NORMAL_CLEARING"),
    ]


def test_backup_daemons_are_tried_in_order_and_ipv6_loses_its_brackets() -> None:
    context = small_context(
        daemon_socket="[::1]:8084", backup_daemon_sockets=("cti-b.internal:8085",)
    )
    extension = public_dialplan(context).find("context/extension")
    assert ("socket", "::1:8084|cti-b.internal:8085 async full") in actions_of(extension)


def test_wrapper_public_xml_includes_the_callcenter_context() -> None:
    rendered = render_to_memory(small_context())
    wrapper = parse(rendered[PurePosixPath("dialplan/public.xml")])
    (instruction,) = wrapper
    assert instruction.tag == "X-PRE-PROCESS"
    assert instruction.get("cmd") == "include"
    assert instruction.get("data") == "public/00_callcenter.xml"
    # FreeSWITCH's pre-processor drops whole lines holding <include> or </include>.
    for text in rendered.values():
        for line in text.splitlines():
            if "include>" in line:
                assert line.strip() in ("<include>", "</include>")


# --------------------------------------------------------------------------------------------
# Other files


def test_directory_has_one_user_per_agent_with_caller_id_and_context() -> None:
    directory = parse(render_to_memory(golden_context())[PurePosixPath("directory/callcenter.xml")])
    (domain,) = directory.findall("domain")
    assert domain.get("name") == "cc.example.com"
    users = {user.get("id"): user for user in domain.iter("user")}
    assert sorted(users) == ["1001", "1002", "1003"]
    zhang = users["1001"]
    variables = {v.get("name"): v.get("value") for v in zhang.iter("variable")}
    assert variables["effective_caller_id_name"] == "张三"
    assert variables["effective_caller_id_number"] == "8001"
    assert variables["user_context"] == "agents"
    assert zhang.find("params/param[@name='password']").get("value") == "s3cret-1001"
    dial_string = domain.find("params/param[@name='dial-string']").get("value")
    assert "${sofia_contact(*/${dialed_user}@${dialed_domain})}" in dial_string
    assert "verto" not in dial_string  # mod_verto is not part of the platform


def test_internal_profile_serves_browser_softphones() -> None:
    profile = parse(render_to_memory(golden_context())[PurePosixPath("sip_profiles/internal.xml")])
    params = [(p.get("name"), p.get("value")) for p in profile.iter("param")]
    assert ("ws-binding", ":5066") in params
    assert ("wss-binding", ":7443") in params
    assert ("tls-cert-dir", "/etc/freeswitch/tls") in params
    assert [v for n, v in params if n == "apply-candidate-acl"] == ["localnet.auto", "rfc1918.auto"]
    assert ("force-register-domain", "cc.example.com") in params
    assert ("auth-calls", "true") in params


def test_websocket_listeners_can_be_switched_off() -> None:
    context = small_context(internal_profile=InternalProfile(ws_port=None, wss_port=None))
    text = render_to_memory(context)[PurePosixPath("sip_profiles/internal.xml")]
    assert "ws-binding" not in text
    assert "wss-binding" not in text


def test_gateways_render_registration_and_caller_id_settings() -> None:
    external = parse(render_to_memory(golden_context())[PurePosixPath("sip_profiles/external.xml")])
    gateways = {g.get("name"): g for g in external.iter("gateway")}
    assert list(gateways) == ["carrier-a", "carrier-b"]
    a = {p.get("name"): p.get("value") for p in gateways["carrier-a"].iter("param")}
    assert a["password"] == "tr&nk<pass>"
    assert a["register"] == "true"
    assert a["register-transport"] == "tcp"
    assert a["proxy"] == "sip.carrier-a.example:5060"
    assert a["caller-id-in-from"] == "false"
    b = {p.get("name"): p.get("value") for p in gateways["carrier-b"].iter("param")}
    assert b["register"] == "false"
    assert b["caller-id-in-from"] == "true"
    assert "username" not in b and "password" not in b


def test_event_socket_and_recording_settings() -> None:
    rendered = render_to_memory(golden_context())
    event_socket = parse(rendered[PurePosixPath("autoload_configs/event_socket.conf.xml")])
    params = {p.get("name"): p.get("value") for p in event_socket.iter("param")}
    assert params["listen-ip"] == "127.0.0.1"
    assert params["listen-port"] == "8021"
    assert params["password"] == "ClueCon"
    assert params["apply-inbound-acl"] == "loopback.auto"
    variables = parse(rendered[PurePosixPath("vars/callcenter.xml")])
    sets = [element.get("data") for element in variables if element.get("cmd") == "set"]
    assert sets == [
        "domain=cc.example.com",
        "domain_name=cc.example.com",
        "recordings_dir=/var/lib/callcenter/recordings",
        "RECORD_STEREO=true",
        "record_sample_rate=16000",
        # Media timeouts as 1.10 wants them (the profiles' rtp-timeout-sec is deprecated).
        "media_timeout=300000",
        "media_hold_timeout=1800000",
    ]


# --------------------------------------------------------------------------------------------
# Escaping


def test_names_and_passwords_are_escaped_for_xml() -> None:
    text = render_to_memory(golden_context())[PurePosixPath("directory/callcenter.xml")]
    assert 'value="O&#39;Neil &amp; &lt;Sons&gt;"' in text
    assert 'value="&#34;Quoted&#34; Name"' in text
    assert 'value="pw&amp;&lt;&gt;&#34;&#39;2-long"' in text
    assert "张三" in text  # written as UTF-8, not as character references
    values = {v.get("value") for v in parse(text).iter("variable")}
    assert {"O'Neil & <Sons>", '"Quoted" Name', "张三"} <= values


_NAME_CHARACTERS = st.characters(
    blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(_NAME_CHARACTERS, min_size=1, max_size=40))
def test_any_printable_name_round_trips_through_the_directory(name: str) -> None:
    if not name.strip() or "${" in name or "x-pre-process" in name.lower():
        with pytest.raises(ContextError):
            render_to_memory(
                small_context(
                    agents=(
                        Agent("1001", "7001", name, "pw-12345678"),
                        Agent("1002", "7002", "B", "pw-12345678"),
                    )
                )
            )
        return
    context = small_context(
        agents=(
            Agent("1001", "7001", name, "pw-12345678"),
            Agent("1002", "7002", "B", "pw-12345678"),
        )
    )
    directory = parse(render_to_memory(context)[PurePosixPath("directory/callcenter.xml")])
    names = [
        v.get("value")
        for v in directory.iter("variable")
        if v.get("name") == "effective_caller_id_name"
    ]
    assert names[0] == name


# --------------------------------------------------------------------------------------------
# Invalid input


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"domain": "bad domain"}, "domain", "host name"),
        ({"daemon_socket": "127.0.0.1"}, "daemon_socket", "host:port"),
        ({"daemon_socket": "127.0.0.1:99999"}, "daemon_socket", "outside 1-65535"),
        ({"daemon_socket": "[::1]8084"}, "daemon_socket", "host:port"),
        ({"daemon_socket": "bad_host!:8084"}, "daemon_socket", "not a host name"),
        ({"backup_daemon_sockets": ("ok:1", "nope")}, "backup_daemon_sockets[1]", "host:port"),
        ({"dids": (Did("12-34", "f", "en"),)}, "dids[0].number", "digits"),
        ({"dids": (Did("+", "f", "en"),)}, "dids[0].number", "digits"),
        ({"dids": (Did("١٢٣", "f", "en"),)}, "dids[0].number", "digits"),
        ({"dids": (Did("1", "f", "en"), Did("1", "g", "en"))}, "dids[1].number", "twice"),
        ({"dids": (Did("1", "${system(id)}", "en"),)}, "dids[0].flow", "flow code"),
        ({"dids": (Did("1", "f", "english language"),)}, "dids[0].language", "language tag"),
        ({"recordings_dir": "recordings"}, "recordings_dir", "absolute path"),
        ({"recordings_dir": "/var/a b"}, "recordings_dir", "absolute path"),
        ({"recordings_dir": "/var/../etc"}, "recordings_dir", ".."),
        ({"record_sample_rate": 7000}, "record_sample_rate", "8000"),
        ({"user_context": "a b"}, "user_context", "context name"),
        (
            {"ring_group": RingGroup(("1001", "1009"), closing_prompt="x.wav")},
            "ring_group.extensions[1]",
            "not an agent",
        ),
        (
            {"ring_group": RingGroup((), closing_prompt="x.wav")},
            "ring_group.extensions",
            "at least",
        ),
        ({"ring_group": RingGroup(("1001",))}, "ring_group.closing_prompt", "required"),
        (
            {"ring_group": RingGroup(("1001",), fallback="voicemail")},
            "ring_group.voicemail_box",
            "required",
        ),
        (
            {"ring_group": RingGroup(("1001",), fallback="voicemail", voicemail_box="9999")},
            "ring_group.voicemail_box",
            "not an agent",
        ),
        (
            {"ring_group": RingGroup(("1001",), call_timeout=0, closing_prompt="x.wav")},
            "ring_group.call_timeout",
            "between 1 and 600",
        ),
        (
            {"ring_group": RingGroup(("1001",), closing_prompt="a file.wav")},
            "ring_group.closing_prompt",
            "without spaces",
        ),
        (
            {"event_socket": EventSocket(password="ClueCon", listen_ip="0.0.0.0")},
            "event_socket.password",
            "loopback",
        ),
        (
            {"event_socket": EventSocket(password="x", listen_ip="localhost")},
            "event_socket.listen_ip",
            "IP address",
        ),
        ({"event_socket": EventSocket(password="a b")}, "event_socket.password", "spaces"),
        (
            {"event_socket": EventSocket(password="secret-1", listen_port=0)},
            "event_socket.listen_port",
            "port number",
        ),
        (
            {"internal_profile": InternalProfile(ws_port=5060)},
            "internal_profile.ws_port",
            "already used",
        ),
        (
            {"gateways": (Gateway("gw", "sip.example", username="u"),)},
            "gateways[0].password",
            "empty",
        ),
        (
            {"gateways": (Gateway("gw", "sip.example:70000", register=False),)},
            "gateways[0].realm",
            "host:port",
        ),
        (
            {"gateways": (Gateway("g w", "sip.example", register=False),)},
            "gateways[0].name",
            "letters",
        ),
    ],
)
def test_invalid_input_is_reported_with_its_path(
    changes: dict[str, object], path: str, fragment: str, tmp_path: Path
) -> None:
    with pytest.raises(ContextError) as caught:
        render_all(small_context(**changes), tmp_path)
    messages = [problem.message for problem in caught.value.problems if problem.path == path]
    assert messages, f"no problem reported at {path}: {caught.value}"
    assert any(fragment in message for message in messages), messages
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("agent", "path", "fragment"),
    [
        (Agent("10a1", "7001", "Ann", "password-1"), "agents[0].extension", "digits"),
        (Agent("1001", "70 01", "Ann", "password-1"), "agents[0].employee_number", "letters"),
        (Agent("1001", "7001", "${system(id)}", "password-1"), "agents[0].name", "${"),
        (Agent("1001", "7001", "$${domain}", "password-1"), "agents[0].name", "${"),
        (Agent("1001", "7001", "a\nb", "password-1"), "agents[0].name", "control character"),
        (Agent("1001", "7001", "x-pre-process", "password-1"), "agents[0].name", "PRE-PROCESS"),
        (Agent("1001", "7001", " ", "password-1"), "agents[0].name", "empty"),
        (Agent("1001", "7001", "Ann", "short"), "agents[0].sip_password", "at least 8"),
        (Agent("1001", "7001", "Ann", "pass word 1"), "agents[0].sip_password", "spaces"),
    ],
)
def test_invalid_agents_are_reported(agent: Agent, path: str, fragment: str) -> None:
    context = small_context(
        agents=(agent, Agent("1002", "7002", "Bob", "password-1002")),
        ring_group=RingGroup(("1002",), closing_prompt="closed.wav"),
    )
    with pytest.raises(ContextError) as caught:
        render_to_memory(context)
    messages = [problem.message for problem in caught.value.problems if problem.path == path]
    assert any(fragment in message for message in messages), caught.value.problems


def test_duplicate_extensions_and_all_problems_are_reported_together() -> None:
    context = small_context(
        domain="-bad-",
        agents=(Agent("1001", "7001", "Ann", "password-1"), Agent("1001", "7002", "B", "pw")),
    )
    with pytest.raises(ContextError) as caught:
        render_to_memory(context)
    paths = {problem.path for problem in caught.value.problems}
    assert {"domain", "agents[1].extension", "agents[1].sip_password"} <= paths
    assert "agents[1].extension: extension 1001 is used twice" in str(caught.value)


def test_json_context_reports_unknown_missing_and_mistyped_fields() -> None:
    data = json.loads(GOLDEN_CONTEXT.read_text(encoding="utf-8"))
    data["colour"] = "blue"
    del data["domain"]
    data["agents"][0]["extension"] = 1002
    data["ring_group"]["call_timeout"] = "25"
    data["gateways"][0]["register"] = "yes"
    data["ring_group"]["fallback"] = "music"
    with pytest.raises(ContextError) as caught:
        RenderContext.from_dict(data)
    problems = {problem.path: problem.message for problem in caught.value.problems}
    assert problems["colour"] == "unknown field"
    assert problems["domain"] == "is required"
    assert problems["agents[0].extension"] == "must be a string"
    assert problems["ring_group.call_timeout"] == "must be an integer"
    assert problems["gateways[0].register"] == "must be true or false"
    assert "'prompt', 'voicemail'" in problems["ring_group.fallback"]


def test_parse_socket_address() -> None:
    assert parse_socket_address("cti.local:8084").freeswitch == "cti.local:8084"
    assert parse_socket_address("[fd00::5]:9000").freeswitch == "fd00::5:9000"
    with pytest.raises(ValueError, match="IPv6"):
        parse_socket_address("[nothex::g]:1")


# --------------------------------------------------------------------------------------------
# Template errors never leave broken files behind


def overriding_loader(templates: dict[str, str]) -> jinja2.BaseLoader:
    return jinja2.ChoiceLoader(
        [jinja2.DictLoader(templates), jinja2.FileSystemLoader(str(TEMPLATES_DIR))]
    )


def existing_conf(tmp_path: Path) -> Path:
    target = tmp_path / "conf"
    (target / "autoload_configs").mkdir(parents=True)
    (target / "autoload_configs" / "event_socket.conf.xml").write_text("<old/>\n")
    return target


def assert_untouched(target: Path) -> None:
    files = sorted(
        path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file()
    )
    assert files == ["autoload_configs/event_socket.conf.xml"]
    assert (target / "autoload_configs" / "event_socket.conf.xml").read_text() == "<old/>\n"


def test_unknown_attribute_names_template_and_variable(tmp_path: Path) -> None:
    target = existing_conf(tmp_path)
    loader = overriding_loader(
        {
            "vars/callcenter.xml.j2": '<include>\n<a b="{{ context.event_socket.pasword }}"/>\n'
            "</include>\n"
        }
    )
    with pytest.raises(RenderError) as caught:
        render_all(small_context(), target, loader=loader)
    assert caught.value.template == "vars/callcenter.xml.j2"
    assert caught.value.variable == "pasword"
    assert caught.value.line == 2
    assert "vars/callcenter.xml.j2" in str(caught.value) and "pasword" in str(caught.value)
    assert_untouched(target)


def test_unknown_top_level_variable_is_an_error(tmp_path: Path) -> None:
    target = existing_conf(tmp_path)
    loader = overriding_loader({"vars/callcenter.xml.j2": "<x>{{ recording_directory }}</x>\n"})
    with pytest.raises(RenderError) as caught:
        render_all(small_context(), target, loader=loader)
    assert caught.value.variable == "recording_directory"
    assert_untouched(target)


def test_invalid_xml_is_never_written(tmp_path: Path) -> None:
    target = existing_conf(tmp_path)
    # Sorted last, so every other file has already rendered fine when this one fails.
    loader = overriding_loader({"vars/callcenter.xml.j2": "<include>\n<unclosed>\n</include>\n"})
    with pytest.raises(RenderError) as caught:
        render_all(small_context(), target, loader=loader)
    assert caught.value.template == "vars/callcenter.xml.j2"
    assert "invalid XML" in str(caught.value)
    assert_untouched(target)


def test_unescaped_markup_from_a_template_is_caught(tmp_path: Path) -> None:
    target = existing_conf(tmp_path)
    loader = overriding_loader(
        {"vars/callcenter.xml.j2": "<x>{{ context.agents[0].name | safe }}</x>\n"}
    )
    context = small_context(
        agents=(
            Agent("1001", "7001", "A & B", "password-1"),
            Agent("1002", "7002", "Bob", "password-2"),
        )
    )
    with pytest.raises(RenderError, match="invalid XML"):
        render_all(context, target, loader=loader)
    assert_untouched(target)


@pytest.mark.parametrize(
    "template",
    [
        "<include><a/></include>\n",
        '<include>\n<a note="see X-PRE-PROCESS"/>\n</include>\n',
        '<include>\n<a v="$${not closed"/>\n</include>\n',
    ],
)
def test_lines_freeswitch_preprocessor_would_mangle_are_refused(
    template: str, tmp_path: Path
) -> None:
    target = existing_conf(tmp_path)
    loader = overriding_loader({"vars/callcenter.xml.j2": template})
    with pytest.raises(RenderError) as caught:
        render_all(small_context(), target, loader=loader)
    assert caught.value.template == "vars/callcenter.xml.j2"
    assert caught.value.line is not None
    assert_untouched(target)


def test_files_are_replaced_atomically_and_not_world_readable(tmp_path: Path) -> None:
    target = existing_conf(tmp_path)
    written = render_all(small_context(), target)
    assert (target / "autoload_configs" / "event_socket.conf.xml") in written
    assert "<old/>" not in (target / "autoload_configs" / "event_socket.conf.xml").read_text()
    leftovers = [path for path in target.rglob("*") if path.name.startswith(".")]
    assert leftovers == []
    for path in written:
        assert not path.stat().st_mode & stat.S_IROTH


# --------------------------------------------------------------------------------------------
# Command line


def test_cli_renders_a_json_context(tmp_path: Path) -> None:
    lines: list[str] = []
    status = main(["--context", str(GOLDEN_CONTEXT), "--out", str(tmp_path)], stdout=lines.append)
    assert status == 0
    assert {Path(line).relative_to(tmp_path).as_posix() for line in lines} == EXPECTED_FILES


def test_cli_reports_invalid_context_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(GOLDEN_CONTEXT.read_text(encoding="utf-8"))
    data["agents"][0]["extension"] = "10x2"
    context_file = tmp_path / "context.json"
    context_file.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--context", str(context_file), "--out", str(out)]) == 1
    assert "agents[0].extension: must be digits" in capsys.readouterr().err
    assert not out.exists()


def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "freeswitch_conf.render",
            "--context",
            str(GOLDEN_CONTEXT),
            "--out",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / PUBLIC_DIALPLAN_PATH).exists()
