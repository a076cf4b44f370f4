"""Client-side flow control shared by every hook and trigger of a process: one adaptive rate limiter
per (account, endpoint, action), as botocore's ``adaptive`` retry mode does it.

The algorithm is botocore's (``botocore.retries.adaptive``): a token bucket whose fill rate follows
CUBIC (RFC 8312). Until ICE first throttles, nothing waits (unless ``max_calls_per_second`` caps the
rate). On a throttling answer the rate drops to ``beta`` times the rate then in use; on each success
it grows again along the cubic curve back towards, then past, the rate that was throttled, never
above twice the rate actually sent. As in TCP (and unlike botocore), refusals of requests sent
before the last cut count once: a burst of a hundred refusals is one congestion event, not a
hundred cuts down to the floor. Callers take a ticket and wait their turn (sync: ``time.sleep``,
async: ``asyncio.sleep``): the lock is held only for the arithmetic, so an event loop never blocks
on it, and a delayed request is not a lost one. No library fits: botocore's bucket
blocks its callers on a ``threading.Condition``, which would stall a triggerer's event loop.

Throttling is logged once when it starts and once when it ends, for each action, with the rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: CUBIC constants, as botocore's adaptive mode sets them.
BETA = 0.7
SCALE = 0.4
#: The lowest rate the bucket slows to (calls a second), and the smoothing of the measured rate.
MIN_RATE = 0.5
_SMOOTHING = 0.8
_MEASURE_BUCKET = 0.5
#: Throttling is over once this many seconds pass without a throttling answer.
QUIET_SECONDS = 60.0
#: A waiting caller looks at the schedule again at least this often (the rate may have changed).
MAX_NAP = 1.0


class AdaptiveRateLimiter:
    """The pacing of one action for one account and endpoint, in this process.

    Callers take a ticket (:meth:`reserve`) and wait until the schedule reaches it (:meth:`nap`):
    tickets go at the current rate, in order; when the rate changes, the queue is re-spaced from
    its head, so a rate that recovers drains the queue faster at once.

    :param name: what the log lines call it (the action, e.g. ``GetAIWorkflowTask``).
    :param max_rate: a fixed cap in calls a second (the connection's ``max_calls_per_second``), or None.
    :param clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, name: str, max_rate: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.max_rate, self._clock = name, max_rate, clock
        self._lock = threading.Lock()
        self._enabled = max_rate is not None
        self._fill_rate = max_rate or 0.0
        now = clock()
        # the schedule: ticket k goes at _anchor_time + (k - _anchor_ticket) / _fill_rate
        self._issued, self._anchor_ticket, self._anchor_time = 0, 0.0, now
        self._measured, self._measure_start, self._measure_count = 0.0, now, 0
        self._last_max_rate, self._last_throttle = 0.0, now
        self._throttled_since: float | None = None

    @property
    def rate(self) -> float | None:
        """The calls a second it allows now; None while it lets every call through."""
        return self._fill_rate if self._enabled else None

    def now(self) -> float:
        """This limiter's clock: pass its reading at sending to :meth:`answered`."""
        return self._clock()

    def cap(self, max_rate: float) -> None:
        """Cap the rate at ``max_rate`` calls a second from now on."""
        with self._lock:
            self.max_rate, self._enabled = max_rate, True
            self._set_rate(min(self._fill_rate, max_rate) if self._fill_rate else max_rate, self._clock())

    def reserve(self) -> int | None:
        """Count a call about to be sent; its ticket, or None when nothing needs to wait."""
        with self._lock:
            now = self._clock()
            self._measure(now)
            if not self._enabled:
                return None
            if self._go_time(self._issued) < now:  # an idle queue: this one goes now
                self._anchor_ticket, self._anchor_time = self._issued, now
            self._issued += 1
            return self._issued - 1

    def nap(self, ticket: int | None, deadline: float | None = None) -> float:
        """Seconds to sleep before ``ticket`` may go (0: go now), at most :data:`MAX_NAP` (the rate
        may change meanwhile) and never past ``deadline`` (this limiter's clock)."""
        if ticket is None:
            return 0.0
        with self._lock:
            now = self._clock()
            wait = min(self._go_time(ticket) - now, MAX_NAP)
            if deadline is not None:
                wait = min(wait, deadline - now)
            return max(wait, 0.0)

    def answered(self, throttled: bool, sent_at: float | None = None) -> None:
        """Learn from an answer: ``throttled`` when ICE refused the call for flow control;
        ``sent_at`` (:meth:`now` when the request left) tells a refusal of the old rate from one of the new."""
        with self._lock:
            now = self._clock()
            if (
                throttled
                and self._throttled_since is not None
                and sent_at is not None
                and sent_at < self._last_throttle
            ):
                return  # already cut for this congestion event
            if throttled:
                measured = self._current_rate(now)
                rate_in_use = min(measured, self._fill_rate) if self._enabled else measured
                self._last_max_rate = max(rate_in_use, MIN_RATE)
                self._last_throttle = now
                new_rate = self._last_max_rate * BETA
                if not self._enabled:
                    self._enabled, self._fill_rate = True, new_rate
                if self._throttled_since is None:
                    self._throttled_since = now
                    log.warning(
                        "ICE throttles %s: pacing it at %.1f calls/s in this process",
                        self.name,
                        max(new_rate, MIN_RATE),
                    )
            elif self._last_max_rate == 0:  # never throttled: only a cap paces it
                new_rate = self.max_rate or self._fill_rate
            else:
                new_rate = self._cubic(now)
                if self._throttled_since is not None and now - self._last_throttle >= QUIET_SECONDS:
                    log.info(
                        "ICE no longer throttles %s (for %.0fs): pacing at %.1f calls/s",
                        self.name,
                        now - self._throttled_since,
                        self._fill_rate,
                    )
                    self._throttled_since = None
            if self._enabled:
                if self._last_max_rate:  # ICE has throttled: never above twice what was really sent
                    new_rate = min(new_rate, 2 * max(self._current_rate(now), MIN_RATE))
                if self.max_rate is not None:
                    new_rate = min(new_rate, self.max_rate)
                self._set_rate(max(new_rate, MIN_RATE), now)

    def _go_time(self, ticket: float) -> float:
        return self._anchor_time + (ticket - self._anchor_ticket) / self._fill_rate

    def _set_rate(self, rate: float, now: float) -> None:
        """Keep the queue's head where it is now and space what follows at ``rate``."""
        if self._fill_rate > 0:
            head = self._anchor_ticket + max(now - self._anchor_time, 0.0) * self._fill_rate
            self._anchor_ticket, self._anchor_time = min(head, float(self._issued)), now
        self._fill_rate = rate

    def _cubic(self, now: float) -> float:
        k = (self._last_max_rate * (1 - BETA) / SCALE) ** (1 / 3)
        return SCALE * (now - self._last_throttle - k) ** 3 + self._last_max_rate

    def _current_rate(self, now: float) -> float:
        """The measured sending rate, or the current half-second's while it is higher: unlike
        botocore's, a first refusal right after a burst (a triggerer starting a thousand waits)
        paces near the burst's rate, not at the floor."""
        partial = self._measure_count / max(now - self._measure_start, 0.1)
        return max(self._measured, partial)

    def _measure(self, now: float) -> None:
        """The rate actually sent, smoothed over half-second buckets (botocore's RateClocker)."""
        self._measure_count += 1
        if now - self._measure_start >= _MEASURE_BUCKET:
            current = self._measure_count / (now - self._measure_start)
            self._measured = current * _SMOOTHING + self._measured * (1 - _SMOOTHING)
            self._measure_count, self._measure_start = 0, now


_LIMITERS: dict[tuple[str, str, str], AdaptiveRateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(account: str, endpoint: str, action: str, max_rate: float | None = None) -> AdaptiveRateLimiter:
    """The process's limiter for ``action`` of ``account`` at ``endpoint`` (made on first use; a
    connection's ``max_calls_per_second`` updates its cap). ``account`` is the AccessKey ID or the
    role, never a rotating STS key."""
    key = (account, endpoint, action)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = AdaptiveRateLimiter(action, max_rate)
        elif max_rate is not None and limiter.max_rate != max_rate:
            limiter.cap(max_rate)
        return limiter


def forget_limiters() -> None:
    """Start every limiter of this process afresh (tests: each against a fresh emulator)."""
    with _LIMITERS_LOCK:
        _LIMITERS.clear()
