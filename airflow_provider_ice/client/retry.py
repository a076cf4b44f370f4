"""Retries for both paths, on tenacity: which failures (:func:`.errors.may_retry`) and how long to wait.

Exponential backoff with full jitter (a thousand triggers throttled together do not retry together),
``x-acs-retry-after`` honoured when the service sends it, bounded by attempts and by total time: no
attempt starts past ``max_elapsed`` seconds after the first.

A start or submit refused as throttled uses no attempt: ICE ran nothing, and what the call waits
for is a turn in the account's quota, as a call queued in the process's pacing (:mod:`.ratelimit`)
waits for its turn within the same time limit. Operator tasks each start in a process of their own,
which no limiter paces: with the refusals counted, a few of ``make bench``'s 100 mapped starts
against a low StartAIWorkflow quota ran out of attempts (five, of full jitter from 0.5 s, span a few
seconds) once their processes started faster, and failed. A poll or a stop counts them: a wait polls
on at its next interval after a poll that failed, and its own timeout is not held up for longer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_before_delay,
    wait_random_exponential,
)

from airflow_provider_ice.client.config import RetrySettings
from airflow_provider_ice.client.errors import is_throttling, may_retry
from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.kinds import SUBMIT_ACTIONS

T = TypeVar("T")
log = logging.getLogger(__name__)


class BackoffWait:
    """Seconds before the next attempt: the service's ``retry_after`` if given, else full jitter."""

    def __init__(self, settings: RetrySettings) -> None:
        self.max_delay = settings.max_delay
        self._jitter = wait_random_exponential(multiplier=settings.base_delay, max=settings.max_delay)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(min(retry_after, self.max_delay))
        return float(self._jitter(state))


def _throttled(state: RetryCallState) -> bool:
    error = state.outcome.exception() if state.outcome is not None else None
    return isinstance(error, IceApiError) and is_throttling(error)


class _Stop:
    """Tenacity's stop for one call (tenacity asks once per failed attempt): after ``max_attempts``
    failed attempts, throttled ones not counted unless ``count_throttled``, or once the next would
    start past ``max_elapsed``."""

    def __init__(self, settings: RetrySettings, count_throttled: bool) -> None:
        self.max_attempts, self.count_throttled, self.failed = settings.max_attempts, count_throttled, 0
        self._elapsed = stop_before_delay(settings.max_elapsed)

    def __call__(self, state: RetryCallState) -> bool:
        self.failed += self.count_throttled or not _throttled(state)
        return self.failed >= self.max_attempts or self._elapsed(state)


def _policy(action: str, settings: RetrySettings, keyed: bool) -> dict[str, Any]:
    stop = _Stop(settings, count_throttled=action not in SUBMIT_ACTIONS)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if _throttled(state) and not stop.count_throttled:
            limit = f"throttled: retried for up to {settings.max_elapsed:g}s"
        else:
            limit = f"{stop.failed} of {settings.max_attempts} failed"
        log.warning(
            "%s failed (%s), attempt %d (%s); retrying in %.2fs",
            action,
            error,
            state.attempt_number,
            limit,
            state.upcoming_sleep,
        )

    return {
        "retry": retry_if_exception(lambda exc: may_retry(action, exc, keyed)),
        "stop": stop,
        "wait": BackoffWait(settings),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def call_with_retries(action: str, settings: RetrySettings, fn: Callable[[], T], keyed: bool = False) -> T:
    """Call ``fn`` (one attempt of ``action``) until it succeeds or the policy gives up; sleeps block.
    ``keyed``: the request carries an idempotency key (:func:`.errors.may_retry`)."""
    return Retrying(**_policy(action, settings, keyed))(fn)


async def acall_with_retries(
    action: str, settings: RetrySettings, fn: Callable[[], Awaitable[T]], keyed: bool = False
) -> T:
    """Like :func:`call_with_retries`, waiting with ``asyncio.sleep``."""
    # The first attempt runs bare: a successful poll (nearly every poll) never builds tenacity's
    # AsyncRetrying and its attempt state. make bench's floor row (whole-process CPU per poll of
    # 1,000 triggers ÷ bare aiohttp pollers), 2026-12-01 on 2 cores: 1.88 with it, 2.41 without.
    try:
        return await fn()
    except Exception as exc:
        if not may_retry(action, exc, keyed):
            raise
        first = [exc]

    async def attempt() -> T:  # tenacity awaits coroutine functions only, not lambdas returning awaitables
        if first:
            raise first.pop()
        return await fn()

    return await AsyncRetrying(**_policy(action, settings, keyed))(attempt)
