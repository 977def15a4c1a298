"""`manage.py run_persister`: store the daemon's durable facts in the database until stopped."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.redis import get_redis
from cti.facts import DEFAULT_DEAD_LETTER_STREAM, DEFAULT_STREAM
from cti.persister import DEFAULT_GROUP, Persister


class Command(BaseCommand):
    help = (
        "Read durable facts from the Redis stream and store them in the database, "
        "acknowledging after each commit. Stops cleanly on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stream", default=DEFAULT_STREAM)
        parser.add_argument("--dead-letter-stream", default=DEFAULT_DEAD_LETTER_STREAM)
        parser.add_argument("--group", default=DEFAULT_GROUP)
        parser.add_argument(
            "--consumer", default=None, help="consumer name; keep it stable across restarts"
        )
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--block-ms", type=int, default=2_000)
        parser.add_argument(
            "--gather-ms",
            type=int,
            default=50,
            help="after a partial batch, wait this long so the next batch is bigger",
        )
        parser.add_argument("--claim-idle-ms", type=int, default=60_000)
        parser.add_argument("--max-backoff", type=float, default=10.0)
        parser.add_argument("--trim-interval", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        persister = Persister(
            get_redis(),
            group=options["group"],
            consumer=options["consumer"],
            batch=options["batch"],
            stream=options["stream"],
            dead_letter_stream=options["dead_letter_stream"],
            block_ms=options["block_ms"],
            gather_seconds=options["gather_ms"] / 1000,
            claim_idle_ms=options["claim_idle_ms"],
            max_backoff=options["max_backoff"],
            trim_interval=options["trim_interval"],
        )
        self.stdout.write(
            f"persister {persister.consumer} reading {persister.stream} as group {persister.group}"
        )
        self.stdout.flush()
        persister.run(stop)
        stats = persister.stats
        self.stdout.write(
            f"persister stopped: {stats.stored} stored, {stats.dead_lettered} dead-lettered, "
            f"{stats.batches} batches, {stats.database_failures} database failures"
        )
