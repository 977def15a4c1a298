"""Fixtures for the switch simulator tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cti.simulator import SwitchSimulator

# The recorded capture's dialplan: the stock `global` extension of FreeSWITCH's vanilla
# default.xml (continue="true": four `log` lines while default_password is 1234, three
# `hash` inserts and an `export` with a strftime expansion while endpoint_disposition is
# still DELAYED NEGOTIATION, i.e. not after a transfer; the capture had removed its
# `sleep`) and the fs-traces extensions 7000-7005 (shared/fs-traces/setup/10_fs_traces.xml).
FS_TRACES_DIALPLAN = """
<include>
  <context name="default">
    <extension name="global" continue="true">
      <condition field="${call_debug}" expression="^true$" break="never">
        <action application="info"/>
      </condition>
      <condition field="${default_password}" expression="^1234$" break="never">
        <action application="log" data="CRIT WARNING WARNING WARNING WARNING WARNING WARNING WARNING WARNING WARNING "/>
        <action application="log" data="CRIT Open /opt/freeswitch/etc/freeswitch/vars.xml and change the default_password."/>
        <action application="log" data="CRIT Once changed type 'reloadxml' at the console."/>
        <action application="log" data="CRIT WARNING WARNING WARNING WARNING WARNING WARNING WARNING WARNING WARNING "/>
      </condition>
      <condition field="${rtp_has_crypto}" expression="^(AES_CM_128_HMAC_SHA1_80|AES_CM_128_HMAC_SHA1_32)$" break="never">
        <action application="set" data="rtp_secure_media=true"/>
      </condition>
      <condition field="${endpoint_disposition}" expression="^(DELAYED NEGOTIATION)"/>
      <condition field="${switch_r_sdp}" expression="(AES_CM_128_HMAC_SHA1_32|AES_CM_128_HMAC_SHA1_80)" break="never">
        <action application="set" data="rtp_secure_media=true"/>
      </condition>
      <condition>
        <action application="hash" data="insert/${domain_name}-spymap/${caller_id_number}/${uuid}"/>
        <action application="hash" data="insert/${domain_name}-last_dial/${caller_id_number}/${destination_number}"/>
        <action application="hash" data="insert/${domain_name}-last_dial/global/${uuid}"/>
        <action application="export" data="RFC2822_DATE=${strftime(%a, %d %b %Y %T %z)}"/>
      </condition>
    </extension>
    <extension name="fs_traces_socket">
      <condition field="destination_number" expression="^7000$">
        <action application="socket" data="${fs_traces_socket_target} async full"/>
      </condition>
    </extension>
    <extension name="fs_traces_tone">
      <condition field="destination_number" expression="^7001$">
        <action application="answer"/>
        <action application="playback" data="tone_stream://%(1000,0,440)"/>
        <action application="hangup"/>
      </condition>
    </extension>
    <extension name="fs_traces_bridge_agent1">
      <condition field="destination_number" expression="^7002$">
        <action application="set" data="hangup_after_bridge=true"/>
        <action application="bridge" data="sofia/internal/sip:agent1@127.0.0.1:5080"/>
      </condition>
    </extension>
    <extension name="fs_traces_conference">
      <condition field="destination_number" expression="^7003$">
        <action application="answer"/>
        <action application="conference" data="3way@default"/>
      </condition>
    </extension>
    <extension name="fs_traces_park">
      <condition field="destination_number" expression="^7005$">
        <action application="answer"/>
        <action application="park"/>
      </condition>
    </extension>
  </context>
</include>
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "freeswitch: runs against a real FreeSWITCH at FREESWITCH_ESL_URL"
    )


@pytest.fixture
def simulator() -> Iterator[SwitchSimulator]:
    """A running simulator with the fs-traces dialplan, 10x faster than real time."""
    sim = SwitchSimulator(dialplan_xml=FS_TRACES_DIALPLAN, speed=0.1)
    sim.switch.global_variables["fs_traces_socket_target"] = "127.0.0.1:8084"
    sim.switch.global_variables["default_password"] = "1234"
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def freeswitch_esl_url() -> str:
    url = os.environ.get("FREESWITCH_ESL_URL")
    if not url:
        pytest.skip("FREESWITCH_ESL_URL is not set")
    return url
