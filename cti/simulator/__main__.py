"""Run the switch simulator standalone: ``python -m cti.simulator --port 8021 --dialplan F``."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from cti.simulator.simulator import SwitchSimulator  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cti.simulator",
        description="A simulated FreeSWITCH 1.10.12 Event Socket for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8021)
    parser.add_argument("--password", default="ClueCon")
    parser.add_argument(
        "--dialplan",
        action="append",
        default=[],
        metavar="FILE",
        help="FreeSWITCH XML dialplan file (repeatable)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="time scale (0.01 = 100x)")
    parser.add_argument("--heartbeat", type=float, default=20.0, help="HEARTBEAT interval (s)")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="USER[:MODE[:DELAY]]",
        help="register a simulated phone, e.g. 1001:answer:2 or 1002:no_answer",
    )
    parser.add_argument("--recordings-dir", default="", help="base for relative recording paths")
    parser.add_argument("--sound-prefix", default="", help="base for relative prompt paths")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="global variable (like vars.xml)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    documents = []
    for path in args.dialplan:
        with open(path, encoding="utf-8") as handle:
            documents.append(handle.read())
    simulator = SwitchSimulator(
        host=args.host,
        port=args.port,
        password=args.password,
        dialplan_xml=documents,
        speed=args.speed,
        heartbeat_interval=args.heartbeat,
        recordings_dir=args.recordings_dir,
        sound_prefix=args.sound_prefix,
    )
    for item in args.set:
        name, _, value = item.partition("=")
        simulator.switch.global_variables[name] = value
    for spec in args.endpoint:
        user, _, rest = spec.partition(":")
        mode, _, delay = rest.partition(":")
        simulator.add_endpoint(user, mode=mode or "answer", answer_delay=float(delay or 1.0))
    simulator.start()
    logging.info("FreeSWITCH simulator listening on %s:%d", args.host, simulator.port)
    stopped = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopped.set)
    gevent.signal_handler(signal.SIGINT, stopped.set)
    stopped.wait()
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
