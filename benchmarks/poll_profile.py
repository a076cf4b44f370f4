"""Where one poll's client CPU goes, profiled in the real call sequence (for the floor row of
``make bench``): ``--waits`` IceWorkflowTaskTriggers polling every ``--interval`` s against the
emulator over TLS for ``--seconds``, under cProfile, in one event loop as a triggerer runs them.

Nothing is timed alone or subtracted: every function's own CPU time is what it took inside those
polls (the triggers' start-up apart: a warm-up round runs first), divided by the polls the emulator
answered. cProfile slows every call by about the same amount, so the shares hold and the
microseconds are inflated (the floor row gives the real CPU).

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


async def _profile_ours(waits: int, interval: float, seconds: float, emulator: Any) -> tuple[pstats.Stats, int]:
    from benchmarks.fleet import run_triggers

    def ends(n: int) -> dict[str, float]:
        return dict.fromkeys((f"p{i:05d}" for i in range(n)), time.time() + 10**6)

    polling: dict[str, Any] = {"poll_interval": interval, "max_poll_interval": interval, "unreachable_timeout": None}
    # Warm: the imports, the session, the TLS connections and the credentials are the triggerer's
    # start-up, not a poll's.
    await run_triggers(emulator, ends(min(waits, 20)), timeout=2.0, **polling)
    calls0 = emulator.calls("GetAIWorkflowTask")
    profiler = cProfile.Profile(time.process_time)  # CPU, not the selector's idle waits
    profiler.enable()
    await run_triggers(emulator, ends(waits), timeout=seconds, **polling)
    profiler.disable()
    return pstats.Stats(profiler), int(emulator.calls("GetAIWorkflowTask") - calls0)


async def _profile_floor(waits: int, interval: float, seconds: float, emulator: Any) -> tuple[pstats.Stats, int]:
    from benchmarks.fleet import run_floor

    task_ids = [f"p{i:05d}" for i in range(waits)]
    await run_floor(emulator, task_ids[:20], interval, 2.0)
    calls0 = emulator.calls("GetAIWorkflowTask")
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    await run_floor(emulator, task_ids, interval, seconds)
    profiler.disable()
    return pstats.Stats(profiler), int(emulator.calls("GetAIWorkflowTask") - calls0)


def _by_area(stats: pstats.Stats, polls: int) -> tuple[dict[str, float], list[tuple[float, float, str]]]:
    """µs of own CPU per poll by area, and (µs per poll, calls per poll, where) by function."""
    areas: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_, calls, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        areas[area_of(filename, name)] += own * 1e6 / polls
        where = f"{os.path.basename(filename)}:{line}({name})" if filename != "~" else name
        functions.append((own * 1e6 / polls, calls / polls, where))
    return areas, sorted(functions, reverse=True)


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
    sizes = (args.waits, args.interval, args.seconds)
    # The floor replays pre-signed requests: the emulator must accept a nonce twice.
    with IceEmulatorProcess(tls=True, scenario=scenario, check_nonce=False) as emulator:
        os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = emulator.connection_uri()
        stats, polls = asyncio.run(_profile_ours(*sizes, emulator))
        floor_stats, floor_polls = asyncio.run(_profile_floor(*sizes, emulator))
    if os.environ.get("POLL_PROFILE_CALLERS"):
        stats.sort_stats("tottime").print_callers(os.environ["POLL_PROFILE_CALLERS"])
    ours, functions = _by_area(stats, polls)
    floor, floor_functions = _by_area(floor_stats, floor_polls)
    print(f"machine: {machine()}")
    print(
        f"\nOne poll's client CPU where it goes: {args.waits} IceWorkflowTaskTriggers polling every "
        f"{args.interval:g} s for {args.seconds:g} s over TLS ({polls} polls), and as many bare aiohttp pollers "
        f"replaying pre-signed requests (the floor, {floor_polls} polls), each under cProfile; own CPU per poll "
        "(µs, inflated by the profiler)"
    )
    rows = sorted(set(ours) | set(floor), key=lambda area: -(ours.get(area, 0.0) - floor.get(area, 0.0)))
    total, floor_total = sum(ours.values()), sum(floor.values())
    print(
        table(
            [
                (
                    area,
                    f"{ours.get(area, 0.0):.0f}",
                    f"{floor.get(area, 0.0):.0f}",
                    f"{ours.get(area, 0.0) - floor.get(area, 0.0):+.0f}",
                )
                for area in rows
            ]
            + [("a poll, all of the above", f"{total:.0f}", f"{floor_total:.0f}", f"{total - floor_total:+.0f}")],
            ("where", "ours", "floor", "ours - floor"),
        )
    )
    print(f"\nThe {args.top} functions whose own CPU per poll differs most from the floor's")
    floor_by = {where: (us, calls) for us, calls, where in floor_functions}
    diffs = sorted(
        (
            (us - floor_by.get(where, (0.0, 0.0))[0], calls, floor_by.get(where, (0.0, 0.0))[1], where)
            for us, calls, where in functions
        ),
        reverse=True,
    )
    top = [
        (where, f"{calls:.1f}", f"{floor_calls:.1f}", f"{diff:+.1f}")
        for diff, calls, floor_calls, where in diffs[: args.top]
    ]
    print(table(top, ("function", "calls per poll", "floor's", "µs per poll over the floor")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
