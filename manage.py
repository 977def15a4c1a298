#!/usr/bin/env python
"""Django's command-line utility for the call-center platform."""

import os
import sys

# Processes that run under gevent patch the standard library before anything else is
# imported (Django, redis, psycopg2 would otherwise keep unpatched sockets and threads).
GEVENT_COMMANDS = {"run_cti", "run_simulator"}
if len(sys.argv) > 1 and sys.argv[1] in GEVENT_COMMANDS:
    import gevent

    # A call spawns several greenlets; recording each one's spawning stack and tree (a
    # debugging aid) costs CPU on every spawn.
    gevent.config.track_greenlet_tree = False
    from gevent import monkey

    monkey.patch_all()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
