"""Where one poll's client CPU goes, profiled in the real call sequence (for the floor row of
``make bench``): ``--waits`` IceWorkflowTaskTriggers polling every ``--interval`` s against the
emulator over TLS for ``--seconds``, under cProfile, in one event loop as a triggerer runs them.

Nothing is timed alone or subtracted: every function's own time is what it took inside those
polls, divided by the polls the emulator answered. cProfile slows every call by about the same
amount, so the shares hold and the microseconds are inflated (the floor row gives the real CPU).

    python benchmarks/poll_profile.py [--waits 200] [--interval 0.5] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine, table

#: Where a function's code lives -> what the report calls it (the first match wins).
AREAS = (
    ("airflow_provider_ice/client/request.py", "ours: request (headers, query, limiter turn)"),
    ("airflow_provider_ice/client/ratelimit.py", "ours: rate limiter"),
    ("airflow_provider_ice/client/", "ours: other client code (errors, retry, sender, credentials)"),
    ("airflow_provider_ice/", "ours: hook, models, waiting, trigger"),
    ("alibabacloud_tea_openapi", "the SDK's signer (canonical request, HMAC)"),
    ("alibabacloud_credentials", "alibabacloud-credentials"),
    ("tenacity", "tenacity"),
    ("aiohttp", "aiohttp"),
    ("yarl", "yarl, multidict"),
    ("multidict", "yarl, multidict"),
    ("asyncio", "asyncio (event loop, sleeps)"),
    ("ssl", "TLS"),
    ("json", "json"),
    ("logging", "logging"),
    ("structlog", "logging"),
    ("<built-in method _hashlib", "hashing (hashlib, hmac)"),
    ("hmac", "hashing (hashlib, hmac)"),
    ("hashlib", "hashing (hashlib, hmac)"),
)


def area_of(filename: str, name: str) -> str:
    where = f"{filename}:{name}" if filename != "~" else name
    for needle, label in AREAS:
        if needle in where:
            return label
    if "_ssl" in where or "SSLObject" in where or "SSLSocket" in where:
        return "TLS"
    if "select" in where or "epoll" in where or "socket" in where or "send" in name or "recv" in name:
        return "sockets, selector"
    return "other (Python built-ins, standard library)"


async def _run(waits: int, interval: float, seconds: float, emulator: Any) -> int:
    from benchmarks.fleet import run_triggers

    ends = dict.fromkeys((f"p{i:05d}" for i in range(waits)), time.time() + 10**6)
    calls0 = emulator.calls("GetAIWorkflowTask")
    await run_triggers(
        emulator, ends, poll_interval=interval, max_poll_interval=interval, timeout=seconds, unreachable_timeout=None
    )
    return int(emulator.calls("GetAIWorkflowTask") - calls0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)

    import logging

    from airflow_provider_ice.testing.emulator import IceEmulatorProcess

    scenario = {
        "workflows": [{"workflow_id": "forever", "running_polls": 10**12}],
        "tasks": [{"workflow_id": "forever", "task_id": f"p{i:05d}"} for i in range(args.waits)],
    }
    logging.getLogger("airflow_provider_ice").setLevel(logging.INFO)  # as the triggerer logs them
    with IceEmulatorProcess(tls=True, scenario=scenario) as emulator:
        os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = emulator.connection_uri()
        profiler = cProfile.Profile()
        polls = profiler.runcall(asyncio.run, _run(args.waits, args.interval, args.seconds, emulator))
    stats = pstats.Stats(profiler)
    by_area: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_, calls, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_area[area_of(filename, name)] += own
        functions.append((own, calls, f"{os.path.basename(filename)}:{line}({name})" if filename != "~" else name))
    total = sum(by_area.values())
    print(f"machine: {machine()}")
    print(
        f"\nOne poll's client CPU where it goes: {args.waits} triggers polling every {args.interval:g} s for "
        f"{args.seconds:g} s over TLS under cProfile, {polls} polls; own time per poll (µs, inflated by the profiler)"
    )
    rows = sorted(by_area.items(), key=lambda item: -item[1])
    print(
        table(
            [(label, f"{own * 1e6 / polls:.0f}", f"{own / total:.0%}") for label, own in rows]
            + [("a poll, all of the above", f"{total * 1e6 / polls:.0f}", "100%")],
            ("where", "µs per poll", "share"),
        )
    )
    print(f"\nThe {args.top} functions with the most own time")
    functions.sort(reverse=True)
    top = [(where, f"{calls / polls:.1f}", f"{own * 1e6 / polls:.1f}") for own, calls, where in functions[: args.top]]
    print(table(top, ("function", "calls per poll", "µs per poll")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
