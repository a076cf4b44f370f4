"""One retry policy for the sync and async paths: what is transient, and how long to wait."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from airflow_provider_ice.exceptions import CONNECTION_ERROR, INVALID_RESPONSE, TIMEOUT, IceApiError
from airflow_provider_ice.hooks.connection_config import RetrySettings

T = TypeVar("T")
log = logging.getLogger(__name__)

_TRANSIENT_CODES = frozenset({"ServiceUnavailable", "InternalError", CONNECTION_ERROR, TIMEOUT, INVALID_RESPONSE})


def is_retryable(code: str, status_code: int | None) -> bool:
    """Throttling* (ICE answers it with HTTP 400), 5xx and transport failures are transient."""
    if code.startswith("Throttling") or code in _TRANSIENT_CODES:
        return True
    return status_code is not None and status_code >= 500


def api_error(
    code: str | None,
    message: str | None,
    *,
    status_code: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> IceApiError:
    """Build our exception from an error response, classifying it."""
    code = code or (f"HTTP{status_code}" if status_code else "UnknownError")
    return IceApiError(
        code,
        message or "no message",
        status_code=status_code,
        request_id=request_id,
        retryable=is_retryable(code, status_code),
        retry_after=retry_after,
    )


class RetryBudget:
    """Tracks one call's attempts; says how long to wait before the next or re-raises."""

    def __init__(self, settings: RetrySettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.attempts = 0
        self._clock = clock
        self._started = clock()

    def next_delay(self, error: IceApiError) -> float:
        """Called after a failed attempt: the seconds to wait, or raises ``error`` when out of budget."""
        self.attempts += 1
        s = self.settings
        if not error.retryable or self.attempts >= s.max_attempts:
            raise error
        if error.retry_after is not None:
            delay = min(error.retry_after, s.max_delay)
        else:
            # Full jitter keeps a thousand triggers throttled together from retrying together.
            delay = random.uniform(0, min(s.max_delay, s.base_delay * 2 ** (self.attempts - 1)))
        if self._clock() - self._started + delay > s.max_elapsed:
            raise error
        return delay


def _log_retry(what: str, error: IceApiError, budget: RetryBudget, delay: float) -> None:
    log.warning(
        "%s failed (%s), attempt %d of %d; retrying in %.2fs",
        what,
        error,
        budget.attempts,
        budget.settings.max_attempts,
        delay,
    )


def call_with_retries(what: str, settings: RetrySettings, fn: Callable[[], T]) -> T:
    budget = RetryBudget(settings)
    while True:
        try:
            return fn()
        except IceApiError as error:
            delay = budget.next_delay(error)
            _log_retry(what, error, budget, delay)
            time.sleep(delay)


async def acall_with_retries(what: str, settings: RetrySettings, fn: Callable[[], Awaitable[T]]) -> T:
    budget = RetryBudget(settings)
    while True:
        try:
            return await fn()
        except IceApiError as error:
            delay = budget.next_delay(error)
            _log_retry(what, error, budget, delay)
            await asyncio.sleep(delay)
