"""Retries for both paths, on tenacity: which failures (:func:`.errors.may_retry`) and how long to wait.

Exponential backoff with full jitter (a thousand triggers throttled together do not retry together),
``x-acs-retry-after`` honoured when the service sends it, bounded by attempts and by total time: no
attempt starts past ``max_elapsed`` seconds after the first.
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
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from airflow_provider_ice.client.config import RetrySettings
from airflow_provider_ice.client.errors import may_retry

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


def _policy(action: str, settings: RetrySettings, keyed: bool) -> dict[str, Any]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "%s failed (%s), attempt %d of %d; retrying in %.2fs",
            action,
            error,
            state.attempt_number,
            settings.max_attempts,
            state.upcoming_sleep,
        )

    return {
        "retry": retry_if_exception(lambda exc: may_retry(action, exc, keyed)),
        "stop": stop_after_attempt(settings.max_attempts) | stop_before_delay(settings.max_elapsed),
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
