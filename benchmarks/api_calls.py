"""GetAIWorkflowTask calls per wait with adaptive polling, on simulated task durations.

Runs the real IceWorkflowTaskTrigger loop against a fake hook and a clock this script controls
(no real waiting): each task reports ``running`` until its duration has passed.

    python benchmarks/api_calls.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import types
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine, table

DURATIONS = [60, 600, 1800, 3600, 7200, 6 * 3600]
POLL_INTERVALS = [5.0, 10.0, 30.0, 60.0]
MAX_POLL_INTERVAL = 600.0


QUIET = logging.getLogger("benchmarks.api_calls.quiet")
QUIET.setLevel(logging.ERROR)
QUIET.propagate = False


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def simulate(duration: float, poll_interval: float, max_poll_interval: float | None, seed: int = 0) -> dict[str, Any]:
    from airflow_provider_ice import waiting as waiting_module
    from airflow_provider_ice.hooks import ice as hook_module
    from airflow_provider_ice.models import IceWorkflowTask
    from airflow_provider_ice.triggers import ice as trigger_module
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    clock = Clock()
    start = clock.now
    calls: list[float] = []

    class FakeHook:
        def __init__(self, **_: Any) -> None:
            pass

        async def apoll_job(self, kind: Any, task_id: str) -> IceWorkflowTask:
            calls.append(clock.now)
            done = clock.now - start >= duration
            return IceWorkflowTask(task_id=task_id, status="succeeded" if done else "running")

        async def aclose(self) -> None:
            pass

    patched = {
        (trigger_module, "time"): types.SimpleNamespace(time=clock.time),
        (waiting_module, "time"): types.SimpleNamespace(time=clock.time, strftime=waiting_module.time.strftime),
        (trigger_module, "asyncio"): types.SimpleNamespace(sleep=clock.sleep),
        (trigger_module, "random"): random.Random(seed),
        (hook_module, "IceHook"): FakeHook,
    }
    saved = {key: getattr(*key) for key in patched}
    try:
        for (module, name), value in patched.items():
            setattr(module, name, value)
        trigger = IceWorkflowTaskTrigger(
            "t", poll_interval=poll_interval, max_poll_interval=max_poll_interval, started_at=start
        )
        trigger._log = QUIET  # type: ignore[assignment]  # a line per simulated poll would drown the table

        async def run() -> dict[str, Any]:
            async for event in trigger.run():
                return dict(event.payload)
            return {}

        event = asyncio.run(run())
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)
    delay = calls[-1] - (start + duration)
    elapsed = calls[-1] - start
    return {
        "calls": len(calls),
        "delay": delay,
        "bound": max(poll_interval, 0.1 * elapsed),
        "ok": event.get("status") == "success" and delay <= max(poll_interval, 0.1 * elapsed) + 1e-6,
    }


def fmt_duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-poll-interval", type=float, default=MAX_POLL_INTERVAL)
    args = parser.parse_args(argv)
    rows, ok = [], True
    for poll in POLL_INTERVALS:
        for duration in DURATIONS:
            adaptive = simulate(duration, poll, args.max_poll_interval)
            fixed = simulate(duration, poll, poll)
            ok = ok and adaptive["ok"] and fixed["ok"]
            rows.append(
                (
                    f"{poll:g} s",
                    fmt_duration(duration),
                    adaptive["calls"],
                    f"{adaptive['delay']:.0f} s",
                    f"{adaptive['bound']:.0f} s",
                    fixed["calls"],
                    "yes" if adaptive["ok"] else "NO",
                )
            )
    two_hours = simulate(7200, 30.0, args.max_poll_interval)
    print(f"machine: {machine()}")
    print(
        f"\nGetAIWorkflowTask calls of one trigger (max_poll_interval={args.max_poll_interval:g} s) vs a fixed rate; "
        "a deferrable sensor adds 2 (its check before deferring, its final fetch)"
    )
    print(
        table(rows, ("poll_interval", "task duration", "calls", "detection delay", "allowed", "fixed-rate calls", "ok"))
    )
    print(f"\n2-hour task at the default 30 s: {two_hours['calls']} trigger calls (+2 for the sensor), target <= 60")
    return 0 if ok and two_hours["calls"] + 2 <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
