"""A token-bucket pacer: keeps one tenant connection under a documented request rate.

Graph's activity-log and reporting APIs allow 5 requests per 10 seconds per app per tenant
(graph.md section 6). Waiting before each request is cheaper than being answered 429 and waiting
``Retry-After`` (which the client still honours when a 429 comes anyway).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

LOGGER = logging.getLogger("tap-microsoft365")

#: Spacing margin: requests arrive at Graph with jitter, so space them a little more than the limit.
MARGIN = 1.05


class Pacer:
    """At most ``requests`` per ``seconds``, bucket capacity ``burst`` (1 = evenly spaced requests)."""

    def __init__(
        self,
        requests: float,
        seconds: float = 10.0,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "",
    ) -> None:
        if requests <= 0 or seconds <= 0:
            raise ValueError("requests and seconds must be positive")
        self.interval = seconds / requests * MARGIN
        self.burst = max(1, int(burst))
        self._clock, self._sleep = clock, sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0
        self.calls = 0
        self.name = name
        self._announced = False

    def wait(self) -> float:
        """Block until a request may go; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) / self.interval)
            self._stamp = now
            delay = 0.0
            if self._tokens < 1.0:
                delay = (1.0 - self._tokens) * self.interval
                if not self._announced and self.name:
                    self._announced = True
                    LOGGER.info(
                        "Pacing %s requests under Graph's documented limit: one every %.1f s "
                        "(the run summary gives the total wait)",
                        self.name,
                        self.interval,
                    )
                self._sleep(delay)
                self._stamp = self._clock()
                self._tokens = 1.0
            self._tokens -= 1.0
            self.waited += delay
            self.calls += 1
            return delay
