"""Client-side flow control shared by every hook and trigger of a process: one adaptive rate limiter
per (account, endpoint, action), after botocore's ``adaptive`` retry mode.

botocore's algorithm (``botocore.retries.adaptive``) is the reference: a token bucket whose fill
rate follows CUBIC (RFC 8312). On a throttling answer the rate drops to ``beta`` times the rate then
in use; on each answer it grows again along the cubic curve back towards, then past, the rate that
was throttled, never above twice the rate ICE answered. Where it differs, and why:

- **A slow start.** botocore lets every call through until the first throttling answer. Then every
  call already in flight is refused too: a triggerer starting a thousand waits had ~90 in flight
  when ICE's first refusal came back (round trips of ~250 ms while its loop starts them), 2-5 % of
  a run's calls. Here the rule that holds after a cut holds before it too: never above twice the
  rate ICE answered, from :data:`START_RATE` (again after a second without calls), so a burst
  doubles as fast as ICE grants it and only a few calls are in flight when its bucket runs dry. A
  call alone still goes at once; a caller that may give up counts only on the cap, if any, until
  ICE throttles (:meth:`AdaptiveRateLimiter.delay_to_count_on`).
- **What is measured.** As botocore's ``RateClocker``, the rate of ICE's *answers*, not of calls
  handed a turn (which lag the answers by the queueing); unlike it, only the answers ICE granted
  (a refusal says the rate was too high, not what the rate was), and a burst's over at least a second.
- **One cut per congestion event.** botocore cuts on every throttled answer. Here a refusal of a
  call sent before the last cut, or within :data:`HOLD_OFF` of it (ICE's bucket, a second's worth
  of calls, takes a second to refill), is the same event: a burst of refusals is one cut, not a
  hundred down to the floor.
- **Callers queue, they do not block.** botocore's bucket blocks its callers on a
  ``threading.Condition``, which would stall a triggerer's event loop. Here a caller takes a turn
  (:meth:`AdaptiveRateLimiter.reserve`) in a schedule spaced at the rate and sleeps until it
  (``time.sleep`` or ``asyncio.sleep``); the lock is held only for the arithmetic. When the rate
  rises or a turn is given back, the schedule moves earlier and sleepers are woken to look again.
- **Nobody jumps the queue.** A call is sent at its turn, never before; a caller that gives up
  (:meth:`AdaptiveRateLimiter.cancel`) gives its turn back.

Throttling is logged once when it starts and once when it ends, for each action, with the rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Before ICE first throttles, the rate a burst starts at (calls a second); it doubles with the
#: answers ICE grants (never above twice their rate), so a triggerer starting a thousand waits has
#: only a few calls in flight when ICE's bucket runs dry.
START_RATE = 20.0
#: CUBIC constants, as botocore's adaptive mode sets them. A curve scaled to the rate that was
#: throttled (back at it after a fixed time, whatever the rate) halves the refusals of four processes
#: sharing one account, but their shares of the quota then drift apart (in tests/fleet_sim.py, over
#: 40-s spans, by up to 2.7x rather than 1.6x): every refusal is also the feedback that evens them out.
BETA = 0.7
SCALE = 0.4
#: The lowest rate the bucket slows to (calls a second).
MIN_RATE = 0.5
#: Seconds after a cut in which further refusals count as the same congestion event: ICE's bucket
#: holds a second's worth of calls (as the emulator models it; ICE publishes no bucket size), so it
#: stays empty for about a second whatever the rate.
HOLD_OFF = 1.0
#: The measured rate is smoothed over buckets of ICE's refill time (botocore's are half a second:
#: one of those after an idle spell counts ICE's stored burst as a rate, twice the quota).
_SMOOTHING = 0.8
_MEASURE_BUCKET = HOLD_OFF
#: Throttling is over once this many seconds pass without a throttling answer.
QUIET_SECONDS = 60.0
#: Sleepers are woken when the rate rises by this factor since they were last woken (each rise of
#: the cubic curve would otherwise wake every sleeper on every answer).
WAKE_STEP = 1.05
#: The same during a slow start, which doubles the rate in about a second: each wake resumes every
#: queued coroutine (~6.5 µs each), and by 5 % steps 1,000 waits queued at once were resumed 54
#: times each in its first 10 s (tests/test_fleet_simulation.py).
START_WAKE_STEP = 1.25


class AdaptiveRateLimiter:
    """The pacing of one action for one account and endpoint, in this process.

    Callers take a turn (:meth:`reserve`), sleep until it (:meth:`delay`, :meth:`sleep` or
    :meth:`asleep`), send, and report ICE's answer (:meth:`answered`). Turns go at the current rate,
    in order; when the rate changes, the queue is re-spaced from its head.

    :param name: what the log lines call it (the action, e.g. ``GetAIWorkflowTask``).
    :param max_rate: a fixed cap in calls a second (the connection's ``max_calls_per_second``), or None.
    :param clock: seconds, monotonic (the simulation passes its event loop's).
    """

    def __init__(self, name: str, max_rate: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.max_rate, self._clock = name, max_rate, clock
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)  # sync sleepers
        # async sleepers, by event loop (a sync thread's sleep is the condition's)
        self._sleepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[asyncio.Future[None]]] = (
            weakref.WeakKeyDictionary()
        )
        self._fill_rate = self._woken_rate = min(START_RATE, max_rate) if max_rate is not None else START_RATE
        now = clock()
        # the schedule: turn k goes at _anchor_time + (k - _anchor_ticket) / _fill_rate
        self._issued, self._anchor_ticket, self._anchor_time = 0, 0.0, now
        self._measured, self._measure_start, self._measure_count = 0.0, now, 0
        self._last_max_rate, self._last_throttle = 0.0, float("-inf")
        self._throttled_since: float | None = None

    @property
    def rate(self) -> float:
        """The calls a second it allows now."""
        return self._fill_rate

    def now(self) -> float:
        """This limiter's clock: pass its reading at sending to :meth:`answered`."""
        return self._clock()

    def cap(self, max_rate: float) -> None:
        """Cap the rate at ``max_rate`` calls a second from now on."""
        with self._lock:
            self.max_rate = max_rate
            self._set_rate(min(self._fill_rate, max_rate), self._clock())

    # ---- a caller's turn ---------------------------------------------------------------------

    def reserve(self) -> int:
        """A turn for a call about to be sent (:meth:`delay` says when)."""
        with self._lock:
            now = self._clock()
            idle_since = self._go_time(self._issued)
            if idle_since < now:  # an idle queue: this one goes now
                if self._last_max_rate == 0 and now - idle_since > HOLD_OFF:
                    self._restart(now)  # idle for a second and more: the next burst starts slow again
                self._anchor_ticket, self._anchor_time = self._issued, now
            self._issued += 1
            return self._issued - 1

    def delay(self, ticket: int) -> float:
        """Seconds until ``ticket``'s turn (0: go now)."""
        with self._lock:
            return max(self._go_time(ticket) - self._clock(), 0.0)

    def delay_to_count_on(self, ticket: int) -> float | None:
        """The wait a caller that may give up should count on: :meth:`delay`, or, before ICE has
        throttled, its delay at the cap; None before ICE has throttled and without a cap: a slow
        start speeds up as fast as ICE answers, and says nothing of ICE's quota."""
        with self._lock:
            delay = max(self._go_time(ticket) - self._clock(), 0.0)
            if self._last_max_rate == 0:
                return None if self.max_rate is None else delay * self._fill_rate / self.max_rate
            return delay

    def cancel(self, ticket: int) -> None:
        """Give back a turn not taken (its caller gave up): the calls behind it move up a slot."""
        with self._lock:
            if self._go_time(ticket) <= self._clock():
                return  # its slot has passed: nobody waits behind it for that one
            if ticket == self._issued - 1:
                self._issued -= 1
            else:
                self._anchor_ticket += 1
            self._wake()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or until the schedule moves earlier (sync callers)."""
        with self._moved:
            self._moved.wait(seconds)

    async def asleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or until the schedule moves earlier (async callers)."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _release, woken)
        with self._lock:
            sleepers = self._sleepers.get(loop)
            if sleepers is None:
                sleepers = self._sleepers[loop] = set()
            sleepers.add(woken)
        try:
            await woken
        finally:
            timer.cancel()
            with self._lock:
                sleepers.discard(woken)  # woken by its timer: not left for the next wake

    # ---- what ICE answered -------------------------------------------------------------------

    def answered(self, throttled: bool, sent_at: float | None = None) -> None:
        """Learn from an answer: ``throttled`` when ICE refused the call for flow control;
        ``sent_at`` (:meth:`now` when the request left) tells a refusal of the old rate from one of the new."""
        with self._lock:
            now = self._clock()
            if not throttled:
                self._measure(now)
            if throttled:
                if (sent_at is not None and sent_at < self._last_throttle) or now - self._last_throttle < HOLD_OFF:
                    return  # already cut for this congestion event
                self._cut(now)
                return
            if self._last_max_rate == 0:  # never throttled: a slow start
                rate = max(2 * self._current_rate(now), START_RATE)
                self._set_rate(rate if self.max_rate is None else min(rate, self.max_rate), now)
                return
            new_rate = self._cubic(now)
            if self._throttled_since is not None and now - self._last_throttle >= QUIET_SECONDS:
                log.info(
                    "ICE no longer throttles %s (for %.0fs): pacing at %.1f calls/s",
                    self.name,
                    now - self._throttled_since,
                    self._fill_rate,
                )
                self._throttled_since = None
            self._set_rate(self._bounded(new_rate, now), now)

    def _restart(self, now: float) -> None:
        """A slow start afresh: what ICE answered before an idle spell says nothing of the next burst."""
        self._fill_rate = self._woken_rate = START_RATE if self.max_rate is None else min(START_RATE, self.max_rate)
        self._measured, self._measure_start, self._measure_count = 0.0, now, 0

    def _cut(self, now: float) -> None:
        measured = self._current_rate(now)
        rate_in_use = min(measured, self._fill_rate)
        self._last_max_rate = max(rate_in_use, MIN_RATE)
        self._last_throttle = now
        new_rate = self._last_max_rate * BETA
        if self._throttled_since is None:
            self._throttled_since = now
            log.warning(
                "ICE throttles %s: pacing it at %.1f calls/s in this process", self.name, max(new_rate, MIN_RATE)
            )
        self._set_rate(self._bounded(new_rate, now), now)

    def _bounded(self, rate: float, now: float) -> float:
        """Never above twice the rate ICE answered, nor above the cap, nor below the floor."""
        rate = min(rate, 2 * max(self._current_rate(now), MIN_RATE))
        if self.max_rate is not None:
            rate = min(rate, self.max_rate)
        return max(rate, MIN_RATE)

    # ---- the schedule ------------------------------------------------------------------------

    def _go_time(self, ticket: float) -> float:
        return self._anchor_time + (ticket - self._anchor_ticket) / self._fill_rate

    def _set_rate(self, rate: float, now: float) -> None:
        """Keep the queue's head where it is now and space what follows at ``rate``; wake the
        sleepers when their turns moved earlier by more than :data:`WAKE_STEP`."""
        if self._fill_rate > 0:
            head = self._anchor_ticket + max(now - self._anchor_time, 0.0) * self._fill_rate
            self._anchor_ticket, self._anchor_time = min(head, float(self._issued)), now
        self._fill_rate = rate
        if rate > self._woken_rate * (WAKE_STEP if self._last_max_rate else START_WAKE_STEP):
            self._wake()
            self._woken_rate = rate
        elif rate * WAKE_STEP < self._woken_rate:  # a cut: the next rise wakes them again
            self._woken_rate = rate

    def _wake(self) -> None:
        """Wake every sleeper to look at the schedule again (the lock is held)."""
        self._moved.notify_all()
        if not self._sleepers:
            return
        by_loop, self._sleepers = dict(self._sleepers), weakref.WeakKeyDictionary()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, sleepers in by_loop.items():
            if loop is running:
                _release_all(sleepers)
            else:
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody sleeps on it
                    loop.call_soon_threadsafe(_release_all, sleepers)

    def _cubic(self, now: float) -> float:
        k = (self._last_max_rate * (1 - BETA) / SCALE) ** (1 / 3)
        return SCALE * (now - self._last_throttle - k) ** 3 + self._last_max_rate

    def _current_rate(self, now: float) -> float:
        """The measured rate of answers, or the current bucket's while it is higher, counted over at
        least a second (ICE's bucket refills in one): a first refusal after a burst (a triggerer
        starting a thousand waits) paces near what ICE let through in that second, neither at the
        burst's rate nor, as botocore's would with no full bucket measured yet, at the floor."""
        partial = self._measure_count / max(now - self._measure_start, HOLD_OFF)
        return max(self._measured, partial)

    def _measure(self, now: float) -> None:
        """The rate of ICE's accepted answers, smoothed over one-second buckets (botocore's
        RateClocker; it counts refusals too, which ICE received but did not grant)."""
        self._measure_count += 1
        if now - self._measure_start >= _MEASURE_BUCKET:
            current = self._measure_count / (now - self._measure_start)
            self._measured = current * _SMOOTHING + self._measured * (1 - _SMOOTHING)
            self._measure_count, self._measure_start = 0, now


def _release(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


def _release_all(sleepers: set[asyncio.Future[None]]) -> None:
    for woken in sleepers:
        _release(woken)


_LIMITERS: dict[tuple[str, str, str], AdaptiveRateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(
    account: str,
    endpoint: str,
    action: str,
    max_rate: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AdaptiveRateLimiter:
    """The process's limiter for ``action`` of ``account`` at ``endpoint`` (made on first use, on
    ``clock``; a connection's ``max_calls_per_second`` updates its cap). ``account`` is the AccessKey
    ID or the role, never a rotating STS key. No lock once it exists: a dict read is atomic."""
    key = (account, endpoint, action)
    limiter = _LIMITERS.get(key)
    if limiter is None:
        with _LIMITERS_LOCK:
            limiter = _LIMITERS.get(key) or _LIMITERS.setdefault(key, AdaptiveRateLimiter(action, max_rate, clock))
    if max_rate is not None and limiter.max_rate != max_rate:
        limiter.cap(max_rate)
    return limiter


def forget_limiters() -> None:
    """Start every limiter of this process afresh (tests: each against a fresh emulator)."""
    with _LIMITERS_LOCK:
        _LIMITERS.clear()
