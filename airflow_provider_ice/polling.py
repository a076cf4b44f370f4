"""Adaptive polling: how long to wait before the next GetAIWorkflowTask.

The interval starts at ``poll_interval`` and grows with the time already waited, capped at
``max_poll_interval``. It never exceeds elapsed/9, so a task that ends just after a poll is seen
within max(poll_interval, 10% of the total elapsed time); a 2-hour task costs ~50 polls at the
default 30 s instead of 240. ``max_poll_interval == poll_interval`` switches it off.
"""

from __future__ import annotations

#: Default cap: ICE media tasks run for minutes to hours; ten minutes keeps long waits cheap.
DEFAULT_MAX_POLL_INTERVAL = 600.0

#: Default ``unreachable_timeout``: a wait whose polls have all failed for an hour ends with an error.
DEFAULT_UNREACHABLE_TIMEOUT = 3600.0

# interval <= (elapsed + interval) / 10  <=>  interval <= elapsed / 9
_GROWTH = 1 / 9


def next_poll_interval(elapsed: float, poll_interval: float, max_poll_interval: float | None) -> float:
    """Seconds to sleep after a poll made ``elapsed`` seconds into the wait."""
    cap = poll_interval if max_poll_interval is None else max(max_poll_interval, poll_interval)
    return min(cap, max(poll_interval, elapsed * _GROWTH))
