"""Triggerer density: N IceWorkflowTaskTriggers in one event loop, polling the emulator over TLS.

The emulator runs in its own process; everything measured here is this (client) process:
client CPU per poll (signing, transport, retries, parsing), event-loop lag, RSS per trigger, polls
per second and whether every trigger ended with the right event. The SDK's async path and its sync
path in threads are measured in the same run as baselines.

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
        "tasks": [{"workflow_id": "bench", "task_id": f"t-{i:05d}"} for i in range(n)]
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
    client = IceHook().get_conn()
    request = GetAIWorkflowTaskRequest(task_id="cpu")
    results["sdk_async"] = await cpu_per_call(lambda: client.get_aiworkflow_task_async(request), args.baseline_calls, 3)
    results["sdk_sync_threads"] = await cpu_per_call(
        lambda: asyncio.to_thread(client.get_aiworkflow_task, request), args.baseline_calls, 3
    )
    return results


async def density(args: argparse.Namespace, emulator: Any) -> dict[str, Any]:
    from airflow_provider_ice.hooks import transport
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    loop = asyncio.get_running_loop()
    lags: list[float] = []
    rss_peak = 0
    stop = asyncio.Event()
    pool_users: list[int] = []

    async def monitor() -> None:
        nonlocal rss_peak
        tick, ticks = 0.01, 0
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(tick)
            lags.append((loop.time() - t0 - tick) * 1000)
            ticks += 1
            if ticks % 10 == 0:  # sampling /proc every tick would itself cost CPU
                rss_peak = max(rss_peak, rss_kb())
                pools = transport._SESSIONS.get(loop, {})
                pool_users.append(sum(p.users for p in pools.values()))

    triggers = [
        IceWorkflowTaskTrigger(f"t-{i:05d}", poll_interval=args.poll_interval, max_poll_interval=args.poll_interval)
        for i in range(args.triggers)
    ]

    async def run_one(trigger: IceWorkflowTaskTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        return {}

    # Warm up with one trigger (imports, TLS context, first connection), then start from a
    # collected heap so the run measures the triggers, not the warm-up's garbage.
    await run_one(IceWorkflowTaskTrigger("warmup", poll_interval=0.01))
    gc.collect()
    rss_base = rss_kb()
    calls_before = emulator.calls("GetAIWorkflowTask")
    mon = asyncio.ensure_future(monitor())
    await asyncio.sleep(0.2)
    lags.clear()
    wall0, cpu0 = time.perf_counter(), time.process_time()
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
        calls = asyncio.run(measure_calls(args))

    ours = median(calls["ours"])
    rows = [
        ("ours: SDK signing + shared keep-alive pool", f"{ours:.3f}", f"{pct(calls['ours'], 90):.3f}", "1.0x"),
        (
            "SDK *_async path",
            f"{median(calls['sdk_async']):.3f}",
            f"{pct(calls['sdk_async'], 90):.3f}",
            f"{median(calls['sdk_async']) / ours:.0f}x",
        ),
        (
            "SDK sync path in threads",
            f"{median(calls['sdk_sync_threads']):.3f}",
            f"{pct(calls['sdk_sync_threads'], 90):.3f}",
            f"{median(calls['sdk_sync_threads']) / ours:.1f}x",
        ),
    ]
    print(f"machine: {machine()}")
    print(f"\nClient CPU per GetAIWorkflowTask over TLS ({args.cpu_calls} calls; baselines {args.baseline_calls})")
    print(table(rows, ("path", "median ms", "p90 ms", "vs ours")))
    print(
        f"\n{args.triggers} triggers in one event loop, {args.polls} running answers each, "
        f"poll every {args.poll_interval:g}s, over TLS"
    )
    print(
        table(
            [
                ("client CPU per poll (ms)", f"{result['cpu_ms_per_poll']:.3f}"),
                (
                    "event-loop lag p50 / p99 / max (ms)",
                    f"{result['lag_p50']:.1f} / {result['lag_p99']:.1f} / {result['lag_max']:.1f}",
                ),
                ("RSS growth per trigger (KB)", f"{result['rss_per_trigger_kb']:.1f}"),
                ("polls / polls per second", f"{result['polls']} / {result['polls_per_s']:.0f}"),
                ("triggers ending with the right event", f"{result['correct']} / {args.triggers}"),
                (
                    "triggers sharing the pool at peak / pools left open",
                    f"{result['max_pool_users']} / {result['pools_left']}",
                ),
                ("wall time (s)", f"{result['wall']:.1f}"),
            ],
            ("measure", "value"),
        )
    )
    return 0 if result["correct"] == args.triggers else 1


if __name__ == "__main__":
    sys.exit(main())
