"""One retry policy for every call the tap makes: Graph, ``$batch`` inner requests, downloads, login.

Graph facts (graph.md 6, 9.16): 429, 503 and 504 carry ``Retry-After`` in seconds, possibly fractional
(``2.128``), or as an HTTP-date (RFC 9110 10.2.3); some answers omit it, then exponential backoff
(1, 2, 4 ... 60 s) applies. Retries stop at ``max_retries`` or when the next wait would pass the time
budget; the clock and the sleep are injectable so tests never wait for real.
"""

from __future__ import annotations

import email.utils
import time
import typing as t
from dataclasses import dataclass, field

import backoff

from tap_microsoft365.graph.errors import GraphTransientError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = t.TypeVar("T")

DEFAULT_MAX_RETRIES = 8
DEFAULT_BUDGET_SECONDS = 900.0
MAX_BACKOFF_SECONDS = 60.0


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds, fractional, or HTTP-date)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)


class Retry(Exception):
    """Raised by an attempt whose outcome is transient; ``what`` says what happened (for logs)."""

    def __init__(self, what: str, retry_after: float | None = None, *, immediate: bool = False):
        super().__init__(what)
        self.what = what
        self.retry_after = 0.0 if immediate else retry_after


@dataclass
class RetryPolicy:
    """Attempts and time budget shared by every kind of call."""

    max_retries: int = DEFAULT_MAX_RETRIES
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    max_backoff: float = MAX_BACKOFF_SECONDS
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    #: Retries made under this policy so far (for the end-of-run summary).
    retries: int = 0

    def backoff_waits(self) -> Iterator[float]:
        """1, 2, 4 ... ``max_backoff`` seconds (python-backoff's exponential generator)."""
        waits = backoff.expo(base=2, factor=1, max_value=self.max_backoff)
        next(waits)  # prime the generator (it yields None first)
        return t.cast("Iterator[float]", waits)

    def run(
        self,
        attempt: Callable[[], T],
        *,
        what: str,
        fix: str,
        on_retry: Callable[[Retry, int, float], None] | None = None,
    ) -> T:
        """Call ``attempt`` until it returns, retrying each :class:`Retry` within the policy.

        When the policy is spent, raises :class:`GraphTransientError` naming ``what`` (the call), the
        last outcome, the attempts and the seconds spent, and ``fix``.
        """
        started = self.clock()
        waits = self.backoff_waits()
        tries = 0
        while True:
            try:
                return attempt()
            except Retry as outcome:
                tries += 1
                wait = outcome.retry_after
                if wait is None:
                    wait = float(next(waits))
                spent = self.clock() - started
                if tries > self.max_retries or spent + wait > self.budget_seconds:
                    raise GraphTransientError(
                        f"{what}: {outcome.what}, still failing after {tries} attempt(s) over "
                        f"{spent:.0f} s. Fix: {fix}"
                    ) from None
                self.retries += 1
                if on_retry is not None:
                    on_retry(outcome, tries, wait)
                if wait > 0:
                    self.sleep(wait)
