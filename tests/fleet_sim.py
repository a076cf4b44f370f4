"""A fleet of pollers against ICE's flow control, in simulated time: seconds of CPU for minutes of
a triggerer's life.

Every poller calls GetAIWorkflowTask through the real attempt and retry path (``request.aattempt``
and ``retry.acall_with_retries``: the limiter, the signing, the reading of the answer, tenacity's
backoff), with the real limiter class on the loop's clock. Only the wire is modelled: a round trip
of :data:`ROUND_TRIP` seconds, and at its middle ICE's flow control deciding, which is the
emulator's own model (:class:`~airflow_provider_ice.testing.emulator.flow_control.FlowControl`: a
token bucket per account and action, ``rate`` tokens a second, one second's held) on the same clock.

The event loop's clock is virtual: when nothing is ready, it jumps to the next timer.
"""

from __future__ import annotations

import asyncio
import json
import random
import selectors
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_ice.client.config import IceConnectionConfig, RetrySettings
from airflow_provider_ice.client.credentials import shared_credential
from airflow_provider_ice.client.ratelimit import forget_limiters, limiter_for
from airflow_provider_ice.client.request import IceRequest, aattempt
from airflow_provider_ice.client.retry import acall_with_retries
from airflow_provider_ice.testing.emulator.errors import status_of
from airflow_provider_ice.testing.emulator.flow_control import CODES, FlowControl

ACTION = "GetAIWorkflowTask"
#: The round trip to ICE in the simulation (seconds); ICE's flow control decides at its middle.
ROUND_TRIP = 0.004
_ANSWER = json.dumps({"RequestId": "sim", "WorkflowTask": {"TaskId": "t", "Status": "running"}}).encode()
_REFUSED = json.dumps({"RequestId": "sim", "Code": CODES[0], "Message": "Request was denied due to user flow control."})


class _Idle(selectors.SelectSelector):
    """A selector that never waits: it moves the clock to when the loop would have woken."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            raise RuntimeError("the simulation has nothing left to run: every poller waits on nothing")
        self.now += max(timeout, 0.0)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` advances only by the timers it runs (no real waiting)."""

    def __init__(self) -> None:
        self._idle = _Idle()
        super().__init__(self._idle)

    def time(self) -> float:
        return self._idle.now


@dataclass
class FleetRun:
    """What ICE saw: answered (useful) and refused calls, per simulated second."""

    useful: Counter[int] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)
    failed_polls: int = 0
    #: useful answers by process and second (a fleet of ``processes`` limiters on one account)
    useful_by_process: Counter[tuple[int, int]] = field(default_factory=Counter)

    def rate(self, start: float, end: float) -> float:
        """Useful answers a second over ``[start, end)`` (whole seconds)."""
        seconds = range(int(start), int(end))
        return sum(self.useful[s] for s in seconds) / len(seconds)

    def throttled_share(self, start: float, end: float) -> float:
        seconds = range(int(start), int(end))
        refused = sum(self.refused[s] for s in seconds)
        return refused / max(refused + sum(self.useful[s] for s in seconds), 1)

    def shares(self, start: float, end: float) -> list[float]:
        """Each process's share of the useful answers over ``[start, end)``."""
        counts: Counter[int] = Counter()
        for (process, second), n in self.useful_by_process.items():
            counts[process] += n if start <= second < end else 0
        return [counts[p] / max(sum(counts.values()), 1) for p in sorted(counts)]

    def recovered_after(self, cut_end: float, end: float, share: float, quota: float, window: int = 5) -> float | None:
        """Seconds after ``cut_end`` until a ``window``-second mean reaches ``share`` of ``quota``."""
        for start in range(int(cut_end), int(end) - window + 1):
            if self.rate(start, start + window) >= share * quota:
                return start + window - cut_end
        return None


def simulate(
    *,
    pollers: int = 1000,
    interval: float = 5.0,
    quota: float = 50.0,
    seconds: float = 150.0,
    refuse_all: tuple[float, float] | None = None,
    seed: int = 7,
    processes: int = 1,
    start_spread: float | None = None,
    round_trip: float = ROUND_TRIP,
) -> FleetRun:
    """``pollers`` waits polling every ``interval`` s (after each answer) for ``seconds`` of simulated
    time against ``quota`` calls a second; ICE refuses every call in ``refuse_all`` (start, end), as
    when another process of the account empties its bucket: a forced cut. With ``processes`` > 1
    the pollers are split over that many limiters on the same account (as triggerers are). The
    pollers' first calls are spread over ``start_spread`` seconds (default: ``interval``; a triggerer
    starting a thousand waits at once takes a fraction of a second), each ``round_trip`` long."""
    random.seed(seed)  # tenacity's jitter
    forget_limiters()
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(
            _fleet(loop, pollers, interval, quota, seconds, refuse_all, processes, start_spread, round_trip)
        )
    finally:
        loop.close()
        forget_limiters()


async def _fleet(
    loop: VirtualTimeLoop,
    pollers: int,
    interval: float,
    quota: float,
    seconds: float,
    refuse_all: tuple[float, float] | None,
    processes: int,
    start_spread: float | None,
    round_trip: float,
) -> FleetRun:
    clock: Callable[[], float] = loop.time
    flow = FlowControl(clock=clock)
    flow.set(ACTION, quota)
    config = IceConnectionConfig(
        region_id="cn-shanghai",
        endpoint="ice.cn-shanghai.aliyuncs.com",
        protocol="https",
        verify=True,
        connect_timeout=5.0,
        read_timeout=10.0,
        credential_type="access_key",
        access_key_id="LTAIsimulation",
        access_key_secret="simulation-secret",
        retry=RetrySettings(),
    )
    # One limiter per process: the limiters are keyed by endpoint too, ICE's buckets by account only.
    configs = [
        replace(config, endpoint=f"p{p}.{config.endpoint}") if processes > 1 else config for p in range(processes)
    ]
    for each in configs:
        limiter_for(each.account, each.endpoint, ACTION, clock=clock)
    credential = shared_credential(config)
    run = FleetRun()

    async def send(request: IceRequest) -> tuple[int, Any, bytes]:
        await asyncio.sleep(round_trip / 2)
        now = clock()
        forced = refuse_all is not None and refuse_all[0] <= now < refuse_all[1]
        code = CODES[0] if forced else flow.admit(config.account, request.action)
        await asyncio.sleep(round_trip / 2)
        if code is not None:
            run.refused[int(now)] += 1
            return status_of(code), {}, _REFUSED.encode()
        run.useful[int(now)] += 1
        process = int(request.url.split("//p", 1)[1].split(".", 1)[0]) if processes > 1 else 0
        run.useful_by_process[process, int(now)] += 1
        return 200, {}, _ANSWER

    async def poller(index: int) -> None:
        await asyncio.sleep((interval if start_spread is None else start_spread) * index / pollers)
        query = {"TaskId": f"t{index:05d}"}
        config = configs[index % processes]
        while clock() < seconds:
            try:
                await acall_with_retries(
                    ACTION, config.retry, lambda: aattempt(config, credential, send, ACTION, query)
                )
            except Exception:  # the trigger polls on after a poll that failed its retries
                run.failed_polls += 1
            await asyncio.sleep(interval)

    await asyncio.gather(*(poller(i) for i in range(pollers)))
    return run
