"""`make bench`: every benchmark row, each run in a fresh process, written to build/bench.md.

    python benchmarks/bench.py [--smoke] [--out build/bench.md]

Rows (three runs each, five for the flow-control rows, reported as min / median / max; the
10,000-wait rows once, 10 minutes each):

1. Flow control: 1,000 triggers polling every 5 s against 50 GetAIWorkflowTask calls a second,
   their ICE tasks ending at fixed times, with the client-side limiter and without it; the same
   waits shared by 4 processes (a fleet of triggerers); 1,000 waits of 3 answers at 4x the quota.
2. 100 mapped IceStartAIWorkflowOperator tasks at once on a real Airflow (LocalExecutor,
   parallelism 16) against 5 StartAIWorkflow calls a second.
3. 10,000 triggers at the default 30 s adaptive polling for 10 minutes: no flow control (the
   triggerer's own cost), the same after gc.freeze(), and 100 calls a second (the limiter at scale).
4. Ours against the floor (1,000 bare aiohttp pollers on the same schedule and TLS), and the
   event-loop lag of a cold start of 1,000 triggers.
5. The import cost, the calls per wait, one poll's CPU against the SDK's own paths, and where one
   poll's CPU goes, profiled against the floor's (benchmarks/import_cost.py, api_calls.py,
   triggerer_density.py, poll_profile.py).

``--smoke`` runs every row at tiny sizes, once (seconds), for ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.common import report_header  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    flow: list[str]
    interval: str  # of the flow-control and floor rows
    mapped: list[str] | None
    density: list[str]
    density_quota: str
    floor: list[str]
    cold: list[str]
    drain: list[str]
    runs: int
    flow_runs: int  # the flow-control, fleet and drain rows


FULL = Sizes(
    flow=["--waits", "1000", "--interval", "5", "--quota", "50", "--first", "40", "--spread", "45"],
    interval="5",
    mapped=["--quota", "5"],
    density=["--waits", "10000", "--minutes", "10"],
    density_quota="100",
    floor=["--waits", "1000", "--interval", "5", "--seconds", "40"],
    cold=["--waits", "1000", "--minutes", "0.3"],
    drain=["--waits", "1000", "--interval", "5", "--quota", "50"],
    runs=3,
    flow_runs=5,
)
SMOKE = Sizes(
    flow=["--waits", "40", "--interval", "0.5", "--quota", "20", "--first", "2", "--spread", "1"],
    interval="0.5",
    mapped=None,  # needs Airflow's services; its pacing is tested in tests/test_rate_limit.py
    density=["--waits", "50", "--minutes", "0.05", "--interval", "0.5"],
    density_quota="40",
    floor=["--waits", "20", "--interval", "0.5", "--seconds", "2"],
    cold=["--waits", "50", "--minutes", "0.05", "--interval", "0.5"],
    drain=["--waits", "40", "--interval", "0.5", "--quota", "20"],
    runs=1,
    flow_runs=1,
)


#: --smoke runs the rows in this process (seconds instead of a process start each).
IN_PROCESS = False


def run_json(script: str, *args: str) -> dict[str, Any]:
    if IN_PROCESS and script == "scale.py":
        from benchmarks import fleet, scale

        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            scale.main([*args, "--out", out.name])
            with open(out.name) as f:
                result: dict[str, Any] = json.load(f)
        fleet.with_limiter()
        return result
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
        done = subprocess.run(
            [sys.executable, os.path.join(ROOT, "benchmarks", script), *args, "--out", out.name],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script} {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        with open(out.name) as f:
            result = json.load(f)
        return result


def spread(values: list[float], digits: int = 2) -> str:
    """``min / median / max`` of the runs (one value when there was one run)."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return "-"
    if len(ordered) == 1:
        return f"{ordered[0]:.{digits}f}"
    mid = ordered[len(ordered) // 2]
    return f"{ordered[0]:.{digits}f} / {mid:.{digits}f} / {ordered[-1]:.{digits}f}"


def rows_of(runs: list[dict[str, Any]], metrics: list[tuple[str, str, int]]) -> list[str]:
    return [f"| {label} | {spread([r[key] for r in runs], digits)} |" for label, key, digits in metrics]


def section(title: str, intro: list[str], runs: list[dict[str, Any]], metrics: list[tuple[str, str, int]]) -> list[str]:
    """A report section: its heading, what it ran, and one row a metric over the runs."""
    return [
        "",
        f"## {title}",
        "",
        *intro,
        *([""] if intro else []),
        "| measure | runs |",
        "|---|---|",
        *rows_of(runs, metrics),
    ]


def fleet_rows(sizes: Sizes) -> list[str]:
    """The fleet row (4 processes sharing the flow-control row's waits and quota) and the drain row
    (1,000 waits of 3 answers each at 4x the quota)."""
    fleets = [run_json("scale.py", "fleet", *sizes.flow, "--processes", "4") for _ in range(sizes.flow_runs)]
    drains = [run_json("scale.py", "drain", *sizes.drain) for _ in range(sizes.flow_runs)]
    first = fleets[0]
    return [
        *section(
            f"A fleet: {first['processes']} processes (as triggerers) sharing {first['waits']} waits and "
            f"{first['quota']:g} calls a second",
            ["Each process its own limiter; they and the emulator share this machine's cores."],
            fleets,
            [
                ("throttled share of calls", "throttled_share", 3),
                ("calls per useful answer", "calls_per_useful_answer", 2),
                ("the worst process's end -> event p95 ÷ the allowed interval", "worst_p95_to_allowed", 2),
                ("the worst process's p95 ÷ the best one's", "p95_spread", 2),
                ("waits ending right", "correct", 0),
            ],
        ),
        *section(
            f"Draining at 4x the quota: {drains[0]['waits']} waits of 3 answers each, "
            f"{drains[0]['quota']:g} calls a second",
            [],
            drains,
            [
                ("wall time (s)", "wall_s", 0),
                ("wall time ÷ the time the quota needs (3 answers a wait)", "wall_to_needed", 2),
                ("throttled share of calls", "throttled_share", 3),
                ("waits ending right", "correct", 0),
            ],
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run each (seconds)")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench.md"))
    args = parser.parse_args(argv)
    global IN_PROCESS
    IN_PROCESS = args.smoke
    sizes = SMOKE if args.smoke else FULL
    started = time.time()
    lines = [
        *report_header("Benchmarks", f"make bench (python benchmarks/bench.py{' --smoke' if args.smoke else ''})")[:-1],
        "- the emulator runs in its own process, pinned to another core; the figures are the client process's",
        "- runs: min / median / max" + ("" if sizes.runs == 1 else f" of {sizes.runs}"),
        "",
    ]

    with_limiter, without = [], []
    for _ in range(sizes.flow_runs):
        with_limiter.append(run_json("scale.py", "flow-control", *sizes.flow))
        without.append(run_json("scale.py", "flow-control", *sizes.flow, "--no-limiter"))
    waits, quota = with_limiter[0]["waits"], with_limiter[0]["quota"]
    allowed = with_limiter[0]["allowed_interval_s"]
    lines += [
        f"## Flow control: {waits} triggers polling every {sizes.interval} s, {quota:g} calls a second allowed",
        "",
        f"Their ICE tasks end at fixed times; the quota allows each wait a poll every {allowed:g} s.",
        "",
        "| measure | with the limiter | without |",
        "|---|---|---|",
    ]
    for label, key, digits in (
        ("throttled share of calls", "throttled_share", 3),
        ("calls per useful answer", "calls_per_useful_answer", 2),
        ("end -> event p95 (s)", "delay_p95_s", 1),
        ("waits ending right", "correct", 0),
    ):
        cells = spread([r[key] for r in with_limiter], digits), spread([r[key] for r in without], digits)
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    lines.append(
        f"| end -> event p95 ÷ the allowed interval | {spread([r['delay_p95_s'] / allowed for r in with_limiter])} | "
        f"{spread([r['delay_p95_s'] / allowed for r in without])} |"
    )

    lines += fleet_rows(sizes)

    if sizes.mapped is not None:
        mapped = run_json("mapped_starts.py", "--runs", str(sizes.runs), *sizes.mapped)
        runs = mapped["runs"]
        lines += section(
            f"100 mapped starts at once, {mapped['quota']:g} StartAIWorkflow calls a second allowed",
            [
                "LocalExecutor, parallelism 16, PostgreSQL; each task its own process (no shared limiter):",
                "the throttling retries with jitter pace them.",
            ],
            runs,
            [
                ("failed tasks", "failed", 0),
                ("duplicate ICE tasks", "duplicates", 0),
                ("ICE tasks started", "ice_tasks", 0),
                ("throttled share of StartAIWorkflow calls", "throttled_share", 3),
                ("wall time (s)", "wall_s", 0),
            ],
        )

    density = [
        run_json("scale.py", "density", *sizes.density),
        run_json("scale.py", "density", *sizes.density, "--gc-freeze"),
        run_json("scale.py", "density", *sizes.density, "--quota", sizes.density_quota),
    ]
    lines += [
        "",
        f"## {density[0]['waits']} triggers in one process, default adaptive polling, {density[0]['minutes']:g} min",
        "",
        "Created at once in a fresh event loop; `gc.freeze()`: once started, as docs/scale.md recommends.",
        "",
        f"| measure | no flow control | no flow control, gc.freeze() | {sizes.density_quota} calls a second |",
        "|---|---|---|---|",
    ]
    for label, key, digits in (
        ("whole-process CPU, share of one core", "cpu_share", 3),
        ("event-loop lag p99 (ms), start-up included", "lag_p99_ms", 1),
        ("event-loop lag max (ms), start-up included", "lag_max_ms", 1),
        ("peak RSS growth per wait (KB)", "rss_kb_per_wait", 1),
        ("longest garbage-collector pause (ms)", "gc_max_ms", 1),
        ("calls / throttled share", "calls", 0),
        ("waits ending right", "correct", 0),
    ):
        if key == "calls":
            shown = [f"{r['calls']} / {r['throttled_share']:.3f}" for r in density]
        else:
            shown = [spread([r[key]], digits) for r in density]
        lines.append(f"| {label} | {' | '.join(shown)} |")

    floors = [run_json("scale.py", "floor", *sizes.floor) for _ in range(sizes.runs)]
    colds = [run_json("scale.py", "density", *sizes.cold) for _ in range(sizes.runs)]
    colds_frozen = [run_json("scale.py", "density", *sizes.cold, "--gc-freeze") for _ in range(sizes.runs)]
    lines += [
        "",
        f"## Ours against the floor: {floors[0]['waits']} waits, one poll every {sizes.interval} s, over TLS",
        "",
        "| measure | runs |",
        "|---|---|",
        *rows_of(
            floors,
            [
                ("ours: whole-process CPU per poll (ms)", "cpu_ms_per_poll", 3),
                ("floor: bare aiohttp pollers, CPU per poll (ms)", "floor_cpu_ms_per_poll", 3),
                ("ours ÷ floor", "ratio_to_floor", 2),
                ("ours: garbage collection, CPU per poll (ms)", "gc_ms_per_poll", 3),
                ("floor: garbage collection, CPU per poll (ms)", "floor_gc_ms_per_poll", 3),
            ],
        ),
        *rows_of(
            colds, [(f"cold start of {colds[0]['waits']} triggers: event-loop lag max (ms)", "startup_lag_max_ms", 1)]
        ),
        *rows_of(
            colds_frozen,
            [
                (
                    f"cold start of {colds[0]['waits']} triggers, gc.freeze(): event-loop lag max (ms)",
                    "startup_lag_max_ms",
                    1,
                )
            ],
        ),
        *rows_of(colds, [("cold start: longest garbage-collector pause (ms)", "gc_max_ms", 1)]),
    ]

    others: tuple[tuple[str, list[str]], ...] = (
        ("import_cost.py", ["--runs", "9"]),
        ("api_calls.py", []),
        ("triggerer_density.py", []),
        ("poll_profile.py", []),
    )
    for script, script_args in () if args.smoke else others:
        done = subprocess.run(
            [sys.executable, os.path.join(ROOT, "benchmarks", script), *script_args],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        # From the script's own first line on: the triggers' log lines before it are not the report.
        out = done.stdout[done.stdout.find("machine: ") :] if "machine: " in done.stdout else done.stdout
        lines += ["", f"## {script}", "", "```text", out.strip(), "```"]
    lines += ["", f"(all rows: {time.time() - started:.0f} s)"]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
