"""The caller ID of legs to the trunk."""

from cti.legs import trunk_caller_id
from cti.services import DaemonSettings


def settings(number: str = "", name: str = "") -> DaemonSettings:
    return DaemonSettings(outbound_caller_id_number=number, outbound_caller_id_name=name)


def test_the_company_number_and_name():
    assert trunk_caller_id(settings("4008001234", "客服 热线")) == (
        ",origination_caller_id_number=4008001234,origination_caller_id_name=客服热线"
    )


def test_a_number_alone_is_its_own_name():
    """An empty name let the agent's directory name through (FreeSWITCH 1.10.12)."""
    assert trunk_caller_id(settings("4008001234")).endswith("origination_caller_id_name=4008001234")


def test_unset_falls_back_to_the_globals_of_the_stock_vars_xml():
    """vars.xml sets outbound_caller_id and outbound_caller_name; there is no global
    outbound_caller_id_number (checked on 1.10.12)."""
    assert trunk_caller_id(settings()) == (
        ",origination_caller_id_number=${outbound_caller_id},"
        "origination_caller_id_name=${outbound_caller_name}"
    )
    assert trunk_caller_id(settings(), fallback="13800138000") == (
        ",origination_caller_id_number=13800138000,origination_caller_id_name=13800138000"
    )
    assert trunk_caller_id(settings(), fallback=None) == ""
