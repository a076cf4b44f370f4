"""Triggerer density: N IceWorkflowTaskTriggers in one event loop, polling the emulator over TLS.

The emulator runs in its own process; everything measured here is this (client) process:
client CPU per poll (signing, transport, retries, parsing, the trigger's log line), event-loop lag,
RSS per trigger, polls per second and whether every trigger ended with the right event, in steady
state and in a cold start (N triggers created at once in a fresh loop, each with its own hook and
connection lookup, as after a triggerer restart). Baselines in the same run: a raw aiohttp request
of a pre-signed poll (no provider code: the floor), the SDK's async path, its sync path in threads.

    python benchmarks/triggerer_density.py [--triggers 1000] [--polls 5] [--poll-interval 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine, median, pct, rss_kb, table


def scenario(n: int, polls: int) -> dict[str, Any]:
    return {
        "workflows": [
            {
                "workflow_id": "bench",
                "running_polls": polls,
                "outputs": {"url": "oss://b/o.mp4"},
                "node_results": {"asr": {"Status": "succeeded"}},
            },
            {"workflow_id": "forever", "running_polls": 10**12},
        ],
        "tasks": [{"workflow_id": "bench", "task_id": f"{p}-{i:05d}"} for p in ("t", "c") for i in range(n)]
        + [{"workflow_id": "forever", "task_id": "cpu"}, {"workflow_id": "bench", "task_id": "warmup"}],
    }


async def cpu_per_call(call: Any, n: int, warmup: int = 10) -> list[float]:
    """Client CPU (ms) of each of ``n`` sequential calls."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(n):
        c0 = time.process_time()
        await call()
        samples.append((time.process_time() - c0) * 1000)
    return samples


async def measure_calls(args: argparse.Namespace) -> dict[str, list[float]]:
    from alibabacloud_ice20201109.models import GetAIWorkflowTaskRequest

    from airflow_provider_ice.hooks.ice import IceHook

    results: dict[str, list[float]] = {}
    async with IceHook() as hook:
        results["ours"] = await cpu_per_call(lambda: hook.aget_workflow_task("cpu"), args.cpu_calls)
    poll, session = await raw_aiohttp_poll(IceHook())
    async with session:
        results["floor"] = await cpu_per_call(poll, args.cpu_calls)
    client = IceHook().get_conn()
    request = GetAIWorkflowTaskRequest(task_id="cpu")
    results["sdk_async"] = await cpu_per_call(lambda: client.get_aiworkflow_task_async(request), args.baseline_calls, 3)
    results["sdk_sync_threads"] = await cpu_per_call(
        lambda: asyncio.to_thread(client.get_aiworkflow_task, request), args.baseline_calls, 3
    )
    return results


async def raw_aiohttp_poll(hook: Any) -> tuple[Any, Any]:
    """A poll with no provider code: one pre-signed GetAIWorkflowTask replayed through a bare aiohttp
    session (keep-alive, same TLS trust) and its body read."""
    import aiohttp
    from alibabacloud_credentials.models import CredentialModel

    from airflow_provider_ice.client.network import ssl_context
    from airflow_provider_ice.client.request import build_request

    config = hook.get_connection_config()
    credential = CredentialModel(access_key_id=config.access_key_id, access_key_secret=config.access_key_secret)
    signed = build_request(config.protocol, config.endpoint, "GetAIWorkflowTask", {"TaskId": "cpu"}, credential)
    headers = signed.headers
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context(config.verify)))
    url = signed.url

    async def poll() -> bytes:
        async with session.post(url, headers=headers) as response:
            return await response.read()

    return poll, session


async def density(args: argparse.Namespace, emulator: Any, cold: bool = False) -> dict[str, Any]:
    """Run N triggers to their end. ``cold``: no warm-up, process caches emptied, triggers built in
    the measured loop (``c-*`` tasks); the lag is also reported for the start-up window alone."""
    from airflow_provider_ice.client import async_sender as transport
    from airflow_provider_ice.client import credentials, network
    from airflow_provider_ice.triggers.ice import FIRST_POLL_SPREAD, IceWorkflowTaskTrigger

    loop = asyncio.get_running_loop()
    lags: list[float] = []
    rss_peak = 0
    stop = asyncio.Event()
    pool_users: list[int] = []

    startup: list[float] = []
    window_end = loop.time() + FIRST_POLL_SPREAD + 1.0

    async def monitor() -> None:
        nonlocal rss_peak
        tick, ticks = 0.01, 0
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(tick)
            lags.append((loop.time() - t0 - tick) * 1000)
            if t0 < window_end:
                startup.append(lags[-1])
            ticks += 1
            if ticks % 10 == 0:  # sampling /proc every tick would itself cost CPU
                rss_peak = max(rss_peak, rss_kb())
                pools = transport._SESSIONS.get(loop, {})
                pool_users.append(sum(p.users for p in pools.values()))

    def make(prefix: str) -> list[IceWorkflowTaskTrigger]:
        interval = args.poll_interval
        return [
            IceWorkflowTaskTrigger(f"{prefix}-{i:05d}", poll_interval=interval, max_poll_interval=interval)
            for i in range(args.triggers)
        ]

    async def run_one(trigger: IceWorkflowTaskTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        return {}

    if cold:
        # As a restarted triggerer: nothing built yet (TLS context, credentials, session).
        network._SSL_CONTEXTS.clear()
        credentials._CREDENTIALS.clear()
    else:
        # Warm up with one trigger (imports, TLS context, first connection), then start from a
        # collected heap so the run measures the triggers, not the warm-up's garbage.
        await run_one(IceWorkflowTaskTrigger("warmup", poll_interval=0.01))
    gc.collect()
    rss_base = rss_kb()
    calls_before = emulator.calls("GetAIWorkflowTask")
    mon = asyncio.ensure_future(monitor())
    await asyncio.sleep(0.2)
    lags.clear()
    startup.clear()
    window_end = loop.time() + FIRST_POLL_SPREAD + 1.0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    triggers = make("c" if cold else "t")
    events = await asyncio.gather(*(run_one(t) for t in triggers))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    stop.set()
    await mon
    polls = emulator.calls("GetAIWorkflowTask") - calls_before
    correct = sum(
        1
        for t, e in zip(triggers, events, strict=True)
        if e.get("status") == "success" and e.get("workflow_task_id") == t.workflow_task_id
    )
    return {
        "wall": wall,
        "cpu_ms_per_poll": cpu * 1000 / polls,
        "polls": polls,
        "polls_per_s": polls / wall,
        "lag_p50": pct(lags, 50),
        "lag_p99": pct(lags, 99),
        "lag_max": max(lags),
        "startup_p99": pct(startup, 99),
        "startup_max": max(startup or [0.0]),
        "rss_per_trigger_kb": (rss_peak - rss_base) / args.triggers,
        "correct": correct,
        "max_pool_users": max(pool_users or [0]),
        "pools_left": len(transport._SESSIONS.get(loop, {})),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=5, help="running answers before each task succeeds")
    parser.add_argument("--poll-interval", type=float, default=5.0, help='seconds ("every few seconds")')
    parser.add_argument("--cpu-calls", type=int, default=500, help="sequential calls for the CPU-per-poll median")
    parser.add_argument("--baseline-calls", type=int, default=60, help="calls per SDK baseline")
    args = parser.parse_args(argv)

    from airflow_provider_ice.testing.emulator import IceEmulatorProcess

    with IceEmulatorProcess(tls=True, scenario=scenario(args.triggers, args.polls)) as emulator:
        os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = emulator.connection_uri()
        result = asyncio.run(density(args, emulator))
        cold = asyncio.run(density(args, emulator, cold=True))
        calls = asyncio.run(measure_calls(args))

    ours = median(calls["ours"])

    def row(label: str, samples: list[float], digits: int = 1) -> tuple[str, ...]:
        return (label, f"{median(samples):.3f}", f"{pct(samples, 90):.3f}", f"{median(samples) / ours:.{digits}f}x")

    rows = [
        row("floor: raw aiohttp request, pre-signed (no provider code)", calls["floor"], 2),
        row("ours: hook.aget_workflow_task (sign, aiohttp, retry, parse)", calls["ours"]),
        row("SDK *_async path", calls["sdk_async"], 0),
        row("SDK sync path in threads", calls["sdk_sync_threads"]),
    ]
    print(f"machine: {machine()}")
    print(f"\nClient CPU per GetAIWorkflowTask over TLS ({args.cpu_calls} calls; baselines {args.baseline_calls})")
    print(table(rows, ("path", "median ms", "p90 ms", "vs ours")))
    print(
        f"\n{args.triggers} triggers in one event loop, {args.polls} running answers each, "
        f"poll every {args.poll_interval:g}s, over TLS: steady (warmed up) and cold start (built at once "
        "in a fresh loop, caches empty; start-up = the first-poll spread + 1 s)"
    )

    def lag(r: dict[str, Any]) -> str:
        return f"{r['lag_p50']:.1f} / {r['lag_p99']:.1f} / {r['lag_max']:.1f}"

    print(
        table(
            [
                (
                    "whole-process CPU per poll (ms)",
                    f"{result['cpu_ms_per_poll']:.3f}",
                    f"{cold['cpu_ms_per_poll']:.3f}",
                ),
                ("event-loop lag p50 / p99 / max (ms)", lag(result), lag(cold)),
                ("start-up lag p99 / max (ms)", "-", f"{cold['startup_p99']:.1f} / {cold['startup_max']:.1f}"),
                (
                    "RSS growth per trigger (KB)",
                    f"{result['rss_per_trigger_kb']:.1f}",
                    f"{cold['rss_per_trigger_kb']:.1f}",
                ),
                (
                    "polls / polls per second",
                    f"{result['polls']} / {result['polls_per_s']:.0f}",
                    f"{cold['polls']} / {cold['polls_per_s']:.0f}",
                ),
                (
                    "triggers ending with the right event",
                    f"{result['correct']} / {args.triggers}",
                    f"{cold['correct']} / {args.triggers}",
                ),
                (
                    "triggers sharing the session at peak / sessions left open",
                    f"{result['max_pool_users']} / {result['pools_left']}",
                    f"{cold['max_pool_users']} / {cold['pools_left']}",
                ),
                ("wall time (s)", f"{result['wall']:.1f}", f"{cold['wall']:.1f}"),
            ],
            ("measure", "steady", "cold start"),
        )
    )
    return 0 if result["correct"] == cold["correct"] == args.triggers else 1


if __name__ == "__main__":
    sys.exit(main())
