"""One measured run of a scale row, in this process (benchmarks/bench.py runs them and writes the report).

    python benchmarks/scale.py flow-control --waits 1000 --interval 5 --quota 50 [--no-limiter] --out r.json
    python benchmarks/scale.py density --waits 10000 --minutes 10 [--quota 100] --out r.json
    python benchmarks/scale.py floor --waits 1000 --interval 5 --seconds 40 --out r.json
    python benchmarks/scale.py drain --waits 1000 --interval 5 --quota 50 --out r.json
    python benchmarks/scale.py fleet --waits 1000 --interval 5 --quota 50 --processes 4 --out r.json

The emulator runs in its own process, pinned to another core; the figures are this process's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import pct
from benchmarks.fleet import FleetResult, pin, run_floor, run_triggers, without_limiter

#: Workflows whose tasks end at staggered fixed times (finish_at) in the flow-control row.
ENDING_GROUPS = 10


def _staggered(args: argparse.Namespace, start: float) -> tuple[dict[str, float], dict[str, str]]:
    """The flow-control rows' waits: workflow -> when its tasks end (from ``first`` to ``first +
    spread`` s after ``start``, in :data:`ENDING_GROUPS` groups), and task -> workflow."""
    ends = {f"wf{g}": start + args.first + args.spread * g / (ENDING_GROUPS - 1) for g in range(ENDING_GROUPS)}
    return ends, {f"t{i:05d}": f"wf{i % ENDING_GROUPS}" for i in range(args.waits)}


def _emulator(
    task_ids: dict[str, str], ends: dict[str, float], running_polls: int | None = None, **options: Any
) -> Any:
    """The emulator in its own process: each workflow's tasks end at ``ends[workflow]`` (epoch s),
    or on their answer after ``running_polls`` running ones."""
    from airflow_provider_ice.testing.emulator import IceEmulatorProcess

    def ending(at: float) -> dict[str, Any]:
        return {"finish_at": at} if running_polls is None else {"running_polls": running_polls}

    scenario = {
        "workflows": [{"workflow_id": wf, "outputs": {"ok": True}, **ending(at)} for wf, at in ends.items()],
        "tasks": [{"workflow_id": wf, "task_id": t} for t, wf in task_ids.items()],
    }
    emulator = IceEmulatorProcess(tls=True, scenario=scenario, **options).start()
    pinned = emulator.pid is not None and pin(emulator.pid, 1) and pin(os.getpid(), 0)
    os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = emulator.connection_uri()
    return emulator, pinned


def _summary(result: FleetResult, pinned: bool, **extra: Any) -> dict[str, Any]:
    return {
        "waits": result.waits,
        "correct": result.correct,
        "wall_s": result.wall,
        "cpu_share": result.cpu / result.wall,
        "cpu_ms_per_poll": result.cpu * 1000 / max(result.calls, 1),
        "calls": result.calls,
        "refused": result.refused,
        "throttled_share": result.refused / max(result.calls, 1),
        "calls_per_useful_answer": result.calls / max(result.useful, 1),
        "lag_p99_ms": pct(result.lags, 99),
        "lag_max_ms": max(result.lags or [0.0]),
        "startup_lag_max_ms": max(result.startup_lags or [0.0]),
        "rss_kb_per_wait": result.rss_growth_kb,
        "delay_p95_s": pct(result.delays, 95) if result.delays else None,
        "gc_ms_per_poll": result.gc_seconds * 1000 / max(result.calls, 1),
        "gc_max_ms": result.gc_max_ms,
        "emulator_pinned": pinned,
        **extra,
    }


def flow_control(args: argparse.Namespace) -> dict[str, Any]:
    """N waits polling every ``interval`` s (fixed) against ``quota`` calls a second; their tasks end
    at fixed, staggered times (from ``first`` to ``first + spread`` s after the start)."""
    if args.no_limiter:
        without_limiter()
    start = time.time()
    ends, task_ids = _staggered(args, start)
    emulator, pinned = _emulator(task_ids, ends)
    try:
        emulator.set_flow_control("GetAIWorkflowTask", args.quota)
        task_ends = {t: ends[wf] for t, wf in task_ids.items()}
        result = asyncio.run(
            run_triggers(
                emulator, task_ends, poll_interval=args.interval, max_poll_interval=args.interval, timeout=3600
            )
        )
    finally:
        emulator.stop()
    allowed = args.waits / args.quota  # the poll interval the quota allows
    return _summary(result, pinned, limiter=not args.no_limiter, quota=args.quota, allowed_interval_s=allowed)


def drain(args: argparse.Namespace) -> dict[str, Any]:
    """N waits polling every ``interval`` s whose tasks end on their third answer (running, running,
    succeeded), against ``quota`` calls a second: how long until every wait ended, against the
    time the quota needs for those answers (3 N ÷ quota)."""
    task_ids = {f"t{i:05d}": "wf" for i in range(args.waits)}
    scenario_ends = {"wf": time.time() + 10**6}
    emulator, pinned = _emulator(task_ids, scenario_ends, running_polls=2)
    try:
        emulator.set_flow_control("GetAIWorkflowTask", args.quota)
        result = asyncio.run(
            run_triggers(
                emulator,
                dict.fromkeys(task_ids, time.time()),
                poll_interval=args.interval,
                max_poll_interval=args.interval,
                timeout=3600,
            )
        )
    finally:
        emulator.stop()
    needed = 3 * args.waits / args.quota
    return _summary(result, pinned, quota=args.quota, needed_s=needed, wall_to_needed=result.wall / needed)


def density(args: argparse.Namespace) -> dict[str, Any]:
    """N waits at the trigger's default (adaptive) polling, created at once in a fresh loop, all of
    whose tasks end after ``minutes``; optionally against ``quota`` calls a second; with
    ``--gc-freeze``, what Airflow holds once imported is moved out of the collector's reach first
    (``gc.freeze()`` from ``airflow_local_settings.py``, as docs/scale.md recommends)."""
    # A triggerer has imported its runner's modules before it runs a trigger: Airflow's async
    # connection lookup would otherwise import the supervisor on the event loop, here only.
    with contextlib.suppress(ImportError):  # Airflow 2 has none
        import airflow.sdk.execution_time.supervisor

    if args.gc_freeze:
        # What docs/scale.md's airflow_local_settings.py does: Airflow imports it while it is imported.
        import airflow  # noqa: F401

        gc.collect()
        gc.freeze()
    start = time.time()
    ends = {"wf": start + args.minutes * 60}
    task_ids = {f"t{i:05d}": "wf" for i in range(args.waits)}
    emulator, pinned = _emulator(task_ids, ends)
    try:
        if args.quota:
            emulator.set_flow_control("GetAIWorkflowTask", args.quota)
        task_ends = dict.fromkeys(task_ids, ends["wf"])
        polling = {} if args.interval is None else {"poll_interval": args.interval, "max_poll_interval": args.interval}
        result = asyncio.run(run_triggers(emulator, task_ends, timeout=args.minutes * 60 + 3600, **polling))
    finally:
        emulator.stop()
    return _summary(result, pinned, quota=args.quota or None, minutes=args.minutes, gc_freeze=args.gc_freeze)


def floor(args: argparse.Namespace) -> dict[str, Any]:
    """Ours and the floor on the same schedule, in this process: N triggers polling every
    ``interval`` s for ``seconds``, then N bare aiohttp pollers for as long."""
    start = time.time()
    ends = {"wf": start + args.seconds + 5}
    task_ids = {f"t{i:05d}": "wf" for i in range(args.waits)}
    emulator, pinned = _emulator(task_ids, ends, check_nonce=False)
    try:
        task_ends = dict.fromkeys(task_ids, ends["wf"])
        ours = asyncio.run(
            run_triggers(emulator, task_ends, poll_interval=args.interval, max_poll_interval=args.interval)
        )
        bare = asyncio.run(run_floor(emulator, list(task_ids), args.interval, args.seconds))
    finally:
        emulator.stop()
    ours_ms, floor_ms = ours.cpu * 1000 / ours.calls, bare.cpu * 1000 / bare.calls
    floor_gc = bare.gc_seconds * 1000 / bare.calls
    return _summary(
        ours, pinned, floor_cpu_ms_per_poll=floor_ms, ratio_to_floor=ours_ms / floor_ms, floor_gc_ms_per_poll=floor_gc
    )


def fleet(args: argparse.Namespace) -> dict[str, Any]:
    """The flow-control row split over ``processes`` processes, as triggerers of one deployment: each
    runs its share of the waits with its own limiter, against one account's ``quota``. The machine's
    two cores are shared by them and the emulator (contention is part of the figure). The clock
    starts once every process has imported what a triggerer has loaded before its first trigger."""
    members = []
    with tempfile.TemporaryDirectory() as tmp:
        go = os.path.join(tmp, "go.json")
        outs = [os.path.join(tmp, f"member{i}.json") for i in range(args.processes)]
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "fleet-member", "--index", str(i), "--processes", str(args.processes),
                 "--waits", str(args.waits), "--interval", str(args.interval), "--go", go,
                 "--first", str(args.first), "--spread", str(args.spread), "--out", out],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for i, out in enumerate(outs)
        ]  # fmt: skip
        deadline = time.monotonic() + 300
        while not all(os.path.exists(out + ".ready") for out in outs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("a fleet member did not get ready")
            time.sleep(0.1)
        start = time.time()
        ends, task_ids = _staggered(args, start)
        emulator, _ = _emulator(task_ids, ends)
        try:
            emulator.set_flow_control("GetAIWorkflowTask", args.quota)
            with open(go + ".tmp", "w") as f:
                json.dump({"start": start, "connection": emulator.connection_uri()}, f)
            os.rename(go + ".tmp", go)
            for proc in procs:
                proc.wait(timeout=3600)
            for out in outs:
                with open(out) as f:
                    members.append(json.load(f))
            calls, refused = emulator.calls("GetAIWorkflowTask"), emulator.refused("GetAIWorkflowTask")
        finally:
            emulator.stop()
    allowed = args.waits / args.quota
    p95s = [m["delay_p95_s"] for m in members]
    return {
        "waits": args.waits,
        "processes": args.processes,
        "correct": sum(m["correct"] for m in members),
        "calls": calls,
        "refused": refused,
        "throttled_share": refused / max(calls, 1),
        "calls_per_useful_answer": calls / max(calls - refused, 1),
        "quota": args.quota,
        "allowed_interval_s": allowed,
        "delay_p95_s_per_process": p95s,
        "worst_p95_to_allowed": max(p95s) / allowed,
        "p95_spread": max(p95s) / min(p95s),
    }


def fleet_member(args: argparse.Namespace) -> dict[str, Any]:
    """One process of the fleet row: waits ``index``, ``index + processes``, ... of the row's."""
    import airflow_provider_ice.client.calls
    import airflow_provider_ice.triggers.ice  # noqa: F401

    with open(args.out + ".ready", "w"):
        pass
    while not os.path.exists(args.go):
        time.sleep(0.05)
    with open(args.go) as f:
        go = json.load(f)
    os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = go["connection"]
    ends, task_ids = _staggered(args, go["start"])
    mine = {t: ends[task_ids[t]] for t in list(task_ids)[args.index :: args.processes]}

    class _Counting:  # the emulator's counters are the whole fleet's: the parent reads them
        def calls(self, action: str) -> int:
            return 0

        refused = calls

    result = asyncio.run(
        run_triggers(_Counting(), mine, poll_interval=args.interval, max_poll_interval=args.interval, timeout=3600)
    )
    return {"waits": result.waits, "correct": result.correct, "delay_p95_s": pct(result.delays, 95)}


ROWS = {
    "drain": drain,
    "flow-control": flow_control,
    "density": density,
    "floor": floor,
    "fleet": fleet,
    "fleet-member": fleet_member,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("row", choices=sorted(ROWS))
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument(
        "--interval", type=float, default=None, help="seconds between polls (density: default, the trigger's own)"
    )
    parser.add_argument("--quota", type=float, default=0.0, help="calls a second the emulator allows (0: no limit)")
    parser.add_argument("--no-limiter", action="store_true", help="switch the client-side flow control off")
    parser.add_argument("--first", type=float, default=40.0, help="flow-control: the first tasks end after this")
    parser.add_argument("--spread", type=float, default=45.0, help="flow-control: the last end this much later")
    parser.add_argument("--minutes", type=float, default=10.0, help="density: how long the waits last")
    parser.add_argument("--seconds", type=float, default=40.0, help="floor: how long each side polls")
    parser.add_argument("--gc-freeze", action="store_true", help="density: gc.freeze() once started")
    parser.add_argument("--processes", type=int, default=4, help="fleet: how many processes share the waits")
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--go", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", required=True, help="where to write the result (JSON)")
    args = parser.parse_args(argv)
    if args.row not in ("density",) and args.interval is None:
        args.interval = 5.0
    result = ROWS[args.row](args)
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))
    return 0 if result["correct"] == result["waits"] else 1


if __name__ == "__main__":
    sys.exit(main())
