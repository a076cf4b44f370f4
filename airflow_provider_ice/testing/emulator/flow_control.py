"""The emulator's flow control: per account and per action, calls a second with a one-second burst,
refused with ``Throttling.User`` (400) or ``RequestsTooFrequent`` (403) as ICE does.

ICE publishes no rates for its AI-workflow APIs (its sibling media services publish 50-120 calls a
second); the rate here is whatever a test or a benchmark sets. Off until set. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

#: The codes a flow-control refusal may use (the first: the default).
CODES = ("Throttling.User", "RequestsTooFrequent")


class FlowControl:
    """Token buckets per (account, action): ``rate`` tokens a second, at most ``rate`` (one second's) held.

    :param clock: the monotonic clock the buckets refill by; default :func:`time.monotonic`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: dict[str, tuple[float, str]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.refused: Counter[str] = Counter()

    def set(self, action: str, rate: float | None, code: str = CODES[0]) -> None:
        """Allow ``rate`` calls a second of ``action`` per account, with a one-second burst.

        :param action: the API action, e.g. ``GetAIWorkflowTask``.
        :param rate: calls a second per account; None removes the action's limit.
        :param code: what a refused call answers: ``Throttling.User`` (400; default) or
            ``RequestsTooFrequent`` (403).
        :raises ValueError: for another code or a rate that is not positive.
        """
        if code not in CODES:
            raise ValueError(f"flow control answers one of {list(CODES)}, got {code!r}")
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        with self._lock:
            if rate is None:
                self._limits.pop(action, None)
            else:
                self._limits[action] = (float(rate), code)
            self._buckets = {key: value for key, value in self._buckets.items() if key[1] != action}

    def admit(self, account: str, action: str) -> str | None:
        """None if the call may go on; else the code to refuse it with (counted in ``refused``).

        :param account: the caller's AccessKey ID.
        :param action: the API action.
        """
        with self._lock:
            limit = self._limits.get(action)
            if limit is None:
                return None
            rate, code = limit
            now = self._clock()
            tokens, last = self._buckets.get((account, action), (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[(account, action)] = (tokens, now)
                self.refused[action] += 1
                return code
            self._buckets[(account, action)] = (tokens - 1, now)
            return None

    def snapshot(self) -> dict[str, Any]:
        """``{"limits": {action: {"rate", "code"}}, "refused": {action: count}}`` (``GET /_emulator/calls``)."""
        with self._lock:
            return {
                "limits": {a: {"rate": r, "code": c} for a, (r, c) in self._limits.items()},
                "refused": dict(self.refused),
            }

    def reset(self) -> None:
        """Remove every limit and forget the buckets and the refusals."""
        with self._lock:
            self._limits.clear()
            self._buckets.clear()
            self.refused.clear()
