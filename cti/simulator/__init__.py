"""A FreeSWITCH 1.10.12 simulator that speaks the Event Socket protocol."""

from cti.simulator.engine import Endpoint, OriginateError
from cti.simulator.simulator import SwitchSimulator

__all__ = ["Endpoint", "OriginateError", "SwitchSimulator"]
