"""The simulator's clock: real gevent sleeps scaled by a speed factor."""

from __future__ import annotations

import time

import gevent


class Clock:
    """Virtual time for the simulated switch.

    ``speed`` scales every wait: with 0.01 a 5 s prompt takes 50 ms of real time. Times
    reported in events (Event-Date-*, Caller-Channel-*-Time, billsec, ...) advance at the
    simulated rate, so durations computed from them stay consistent with the scenario.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._epoch_start = time.time()
        self._monotonic_start = time.monotonic()

    def now(self) -> float:
        """Simulated epoch seconds."""
        elapsed = time.monotonic() - self._monotonic_start
        return self._epoch_start + elapsed / self.speed

    def now_us(self) -> int:
        return int(self.now() * 1_000_000)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        gevent.sleep(max(0.0, seconds) * self.speed)

    def real_seconds(self, seconds: float) -> float:
        """Real seconds that correspond to ``seconds`` of simulated time."""
        return max(0.0, seconds) * self.speed
