"""Start every process of the platform on one machine and stop them together.

Used by `make run` and `make demo`. Resolves settings once (which starts the embedded Redis
when REDIS_URL is unset) and hands the same environment to every child, so the web tier,
the daemon and the workers share one Redis and one database.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def build_processes(demo: bool, host: str, port: int) -> list[tuple[str, list[str]]]:
    from django.conf import settings

    from config.web import web_command

    python = sys.executable
    processes: list[tuple[str, list[str]]] = []
    if settings.SWITCH_SIMULATOR:
        simulator = [python, "manage.py", "run_simulator"]
        processes.append(("simulator", simulator + (["--demo-traffic"] if demo else [])))
    processes += [
        ("cti", [python, "manage.py", "run_cti"]),
        ("persister", [python, "manage.py", "run_persister"]),
        ("web", web_command(host, port, python=python)),
        (
            "celery",
            [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "--schedule",
                str(BASE_DIR / "var" / "celerybeat-schedule"),
                "-l",
                "info",
                "--concurrency",
                "2",
            ],
        ),
        (
            "rq",
            [python, "-m", "rq.cli", "worker", "--url", settings.REDIS_URL, settings.RQ_QUEUE_NAME],
        ),
    ]
    return processes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", action="store_true", help="also generate simulated traffic")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Redis may have restarted empty: the daemon reads its configuration only from there.
    call_command("publish_config")
    env = dict(os.environ, REDIS_URL=settings.REDIS_URL, PYTHONUNBUFFERED="1")
    if settings.SWITCH_SIMULATOR:
        print(
            "No FreeSWITCH configured: the switch simulator stands in on "
            f"127.0.0.1:{settings.SIMULATOR_ESL_PORT}"
        )
    else:
        print(f"FreeSWITCH nodes: {', '.join(settings.FREESWITCH_ESL_URLS)}")
    children: list[tuple[str, subprocess.Popen]] = []
    for name, command in build_processes(args.demo, args.host, args.port):
        print(f"starting {name}: {' '.join(command)}")
        children.append((name, subprocess.Popen(command, cwd=BASE_DIR, env=env)))
    print(f"\nOpen http://{args.host}:{args.port}/ (Ctrl-C stops everything)\n")

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children:
            if child.poll() is not None:
                print(f"{name} exited with status {child.returncode}; stopping the platform")
                exit_code = child.returncode or 1
                stopping = True
                break
        time.sleep(0.5)
    for _name, child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 10
    for _name, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
