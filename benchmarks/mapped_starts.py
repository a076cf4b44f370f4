"""100 mapped IceStartAIWorkflowOperator tasks started at once on a real Airflow (LocalExecutor,
parallelism 16, PostgreSQL), against an account that allows 5 StartAIWorkflow calls a second.

    python benchmarks/mapped_starts.py [--runs 3] [--quota 5] --out r.json

Each run: failed tasks, duplicate ICE tasks (two tasks with one map index's UserData), the
throttled share of StartAIWorkflow calls and the run's wall time.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.e2e.services import AirflowStack  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quota", type=float, default=5.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from airflow_provider_ice.testing.emulator import IceEmulatorProcess

    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="ice-bench-airflow-") as home,
        IceEmulatorProcess(scenario={"workflows": [{"workflow_id": "bench"}]}) as emulator,
    ):
        emulator.set_flow_control("StartAIWorkflow", args.quota)
        stack = AirflowStack(
            home, os.path.join(ROOT, "benchmarks", "dags"), {}, ("scheduler", "dag-processor", "api-server")
        )
        stack.env["AIRFLOW__CORE__PARALLELISM"] = "16"
        stack.env["AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG"] = "100"
        try:
            stack.start(connections=(emulator.connections_add_args(),))
            stack.wait_for(
                "the DAG to be parsed",
                lambda: stack.query("select dag_id from dag where dag_id = 'ice_mapped_starts'"),
                240,
            )
            stack.airflow("dags", "unpause", "ice_mapped_starts")
            for run in range(args.runs):
                calls0, refused0 = emulator.calls("StartAIWorkflow"), emulator.refused("StartAIWorkflow")
                run_id = f"bench-{run}"
                started = time.monotonic()
                stack.airflow("dags", "trigger", "ice_mapped_starts", "--run-id", run_id)
                finished = "select state from dag_run where run_id = :r and state in ('success', 'failed')"
                stack.wait_for(f"run {run_id} to finish", lambda: stack.query(finished, r=run_id), 900)  # noqa: B023
                wall = time.monotonic() - started
                states = collections.Counter(
                    s for (s,) in stack.query("select state from task_instance where run_id = :r", r=run_id)
                )
                created = collections.Counter(
                    t["user_data"] for t in emulator.tasks() if str(t["user_data"]).startswith(f"{run_id}#")
                )
                calls = emulator.calls("StartAIWorkflow") - calls0
                refused = emulator.refused("StartAIWorkflow") - refused0
                results.append(
                    {
                        "tasks": sum(states.values()),
                        "failed": sum(n for s, n in states.items() if s != "success"),
                        "ice_tasks": sum(created.values()),
                        "duplicates": sum(n - 1 for n in created.values() if n > 1),
                        "calls": calls,
                        "throttled_share": refused / max(calls, 1),
                        "wall_s": wall,
                    }
                )
                print(json.dumps(results[-1]), flush=True)
        finally:
            stack.stop()
    with open(args.out, "w") as f:
        json.dump({"quota": args.quota, "runs": results}, f)
    return 0 if all(r["failed"] == 0 and r["duplicates"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
