"""Many waits in one event loop, measured: the engine of benchmarks/scale.py.

A fleet is N IceWorkflowTaskTriggers (or, for the floor, N bare aiohttp pollers) against an emulator
in its own process (pinned to another core where the machine has one). Measured in this process:
CPU, event-loop lag (a 10 ms ticker; the start-up window apart), peak RSS growth per wait, calls and
refusals at the emulator, and for each trigger the delay from its ICE task's end to its event.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import rss_kb

TICK = 0.01


@dataclass
class FleetResult:
    waits: int
    wall: float
    cpu: float
    calls: int
    refused: int
    correct: int
    lags: list[float] = field(default_factory=list)
    startup_lags: list[float] = field(default_factory=list)
    rss_growth_kb: float = 0.0
    delays: list[float] = field(default_factory=list)
    gc_seconds: float = 0.0
    gc_max_ms: float = 0.0

    @property
    def useful(self) -> int:
        return self.calls - self.refused


def pin(pid: int, core: int) -> bool:
    """Pin ``pid`` to one core when the machine has more than one (Linux); False otherwise."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(pid, {core})
    return True


class _Monitor:
    """Event-loop lag (ms) of a 10 ms ticker, the peak RSS, and the time the garbage collector
    takes (in all, and its longest pause), while it runs."""

    def __init__(self, startup_seconds: float) -> None:
        self.gc_seconds, self.gc_max_ms, self._gc_start = 0.0, 0.0, 0.0
        gc.callbacks.append(self._gc)
        self.lags: list[float] = []
        self.startup: list[float] = []
        self.rss_peak = rss_kb()
        self._stop = asyncio.Event()
        self._startup_end = asyncio.get_running_loop().time() + startup_seconds
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        ticks = 0
        while not self._stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(TICK)
            lag = (loop.time() - t0 - TICK) * 1000
            self.lags.append(lag)
            if t0 < self._startup_end:
                self.startup.append(lag)
            ticks += 1
            if ticks % 10 == 0:  # sampling /proc every tick would itself cost CPU
                self.rss_peak = max(self.rss_peak, rss_kb())

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_start
        self.gc_seconds += took
        self.gc_max_ms = max(self.gc_max_ms, took * 1000)

    async def stop(self) -> None:
        self._stop.set()
        await self._task
        gc.callbacks.remove(self._gc)


async def run_triggers(
    emulator: Any, task_ends: dict[str, float], *, startup_seconds: float = 6.0, **trigger_kwargs: Any
) -> FleetResult:
    """One trigger per task of ``task_ends`` (task id -> when its ICE task ends, epoch seconds), all
    created at once in this loop, run to their events."""
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    rss_base = rss_kb()
    calls0, refused0 = emulator.calls("GetAIWorkflowTask"), emulator.refused("GetAIWorkflowTask")
    monitor = _Monitor(startup_seconds)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    ended: dict[str, tuple[float, dict[str, Any]]] = {}

    async def one(task_id: str) -> None:
        async for event in IceWorkflowTaskTrigger(task_id, **trigger_kwargs).run():
            ended[task_id] = (time.time(), dict(event.payload))

    await asyncio.gather(*(one(t) for t in task_ends))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await monitor.stop()
    correct = sum(1 for t, (_, e) in ended.items() if e.get("status") == "success" and e["workflow_task_id"] == t)
    return FleetResult(
        waits=len(task_ends),
        wall=wall,
        cpu=cpu,
        calls=emulator.calls("GetAIWorkflowTask") - calls0,
        refused=emulator.refused("GetAIWorkflowTask") - refused0,
        correct=correct,
        lags=monitor.lags,
        startup_lags=monitor.startup,
        rss_growth_kb=(monitor.rss_peak - rss_base) / len(task_ends),
        delays=[at - task_ends[t] for t, (at, _) in ended.items()],
        gc_seconds=monitor.gc_seconds,
        gc_max_ms=monitor.gc_max_ms,
    )


async def run_floor(emulator: Any, task_ids: list[str], interval: float, seconds: float) -> FleetResult:
    """The cheapest poll Python makes: one pre-signed GetAIWorkflowTask per poller replayed through
    one shared aiohttp session over the same TLS, no signing, no logging, no parsing beyond the body
    read (the emulator must accept replayed nonces)."""
    import aiohttp
    from alibabacloud_credentials.models import CredentialModel

    from airflow_provider_ice.client.network import ssl_context
    from airflow_provider_ice.client.request import build_request

    credential = CredentialModel(access_key_id=emulator.access_key_id, access_key_secret=emulator.access_key_secret)
    protocol = "https" if emulator.tls else "http"
    requests = [
        build_request(protocol, emulator.endpoint, "GetAIWorkflowTask", {"TaskId": t}, credential) for t in task_ids
    ]
    tls = ssl_context(emulator.ca_file) if emulator.tls else False
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32, ssl=tls))
    rss_base = rss_kb()
    calls0 = emulator.calls("GetAIWorkflowTask")
    monitor = _Monitor(0.0)
    deadline = time.monotonic() + seconds
    wall0, cpu0 = time.perf_counter(), time.process_time()

    async def poller(index: int) -> None:
        request = requests[index]
        await asyncio.sleep(interval * index / len(requests))
        while time.monotonic() < deadline:
            async with session.post(request.url, headers=request.headers) as response:
                await response.read()
            await asyncio.sleep(interval)

    await asyncio.gather(*(poller(i) for i in range(len(requests))))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await monitor.stop()
    await session.close()
    return FleetResult(
        waits=len(task_ids),
        wall=wall,
        cpu=cpu,
        calls=emulator.calls("GetAIWorkflowTask") - calls0,
        refused=0,
        correct=len(task_ids),
        lags=monitor.lags,
        rss_growth_kb=(monitor.rss_peak - rss_base) / len(task_ids),
        gc_seconds=monitor.gc_seconds,
        gc_max_ms=monitor.gc_max_ms,
    )


class NoLimiter:
    """The limiter switched off: every call is sent at once, whatever ICE answered before."""

    rate = None

    def reserve(self) -> None:
        return None

    def delay(self, ticket: Any) -> float:
        return 0.0

    def delay_to_count_on(self, ticket: Any) -> None:
        return None

    def cancel(self, ticket: Any) -> None:
        return None

    def answered(self, throttled: bool, sent_at: Any = None) -> None:
        return None

    def now(self) -> float:
        return 0.0


_LIMITER: Any = None


def without_limiter() -> None:
    """Switch the process's client-side flow control off (the baseline of the flow-control rows)."""
    global _LIMITER
    from airflow_provider_ice.client import request

    _LIMITER = _LIMITER or request._limiter
    request._limiter = lambda config, action: NoLimiter()  # type: ignore[assignment,return-value]


def with_limiter() -> None:
    """Switch it back on."""
    from airflow_provider_ice.client import request

    if _LIMITER is not None:
        request._limiter = _LIMITER
