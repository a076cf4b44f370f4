"""Import cost of our DAG-facing modules over ``import airflow.sdk``, median of fresh processes.

    python benchmarks/import_cost.py [--runs 15]

Also reported: the cost of Airflow's own base classes our modules need (BaseSensorOperator,
BaseOperator, BaseHook, BaseTrigger), and reference sensors from other providers when installed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine, median, table

BASES = (
    "from airflow.providers.common.compat.sdk import BaseSensorOperator, BaseOperator, BaseHook\n"
    "import airflow.triggers.base"
)
ALL_OURS = (
    "import airflow_provider_ice.sensors.ice, airflow_provider_ice.operators.ice, airflow_provider_ice.triggers.ice"
)
TARGETS: dict[str, str | tuple[str, str]] = {
    "airflow_provider_ice.sensors.ice": "import airflow_provider_ice.sensors.ice",
    "airflow_provider_ice.operators.ice": "import airflow_provider_ice.operators.ice",
    "airflow_provider_ice.triggers.ice": "import airflow_provider_ice.triggers.ice",
    "sensor + operator + trigger": ALL_OURS,
    "Airflow's base classes alone (sensor, operator, hook, trigger)": BASES,
    "our code alone: all three over those base classes": (BASES, ALL_OURS),
    "reference: dbt Cloud sensor": "import airflow.providers.dbt.cloud.sensors.dbt",
    "reference: AnalyticDB Spark sensor": "import airflow.providers.alibaba.cloud.sensors.analyticdb_spark",
}
HEAVY = ("alibabacloud_ice20201109", "alibabacloud_tea_openapi", "darabonba", "alibabacloud_credentials")

PROBE = """
import sys, time, json
import airflow.sdk
exec(compile({pre!r}, "<pre>", "exec"))
t1 = time.perf_counter()
try:
    exec(compile({code!r}, "<import>", "exec"))
except ImportError:
    print(json.dumps(None)); raise SystemExit
t2 = time.perf_counter()
print(json.dumps({{"ms": (t2 - t1) * 1000, "sdk_modules": sorted(m for m in sys.modules if m.startswith({heavy!r}))}}))
"""


def measure(target: str | tuple[str, str], runs: int) -> dict | None:
    pre, code = target if isinstance(target, tuple) else ("", target)
    samples, sdk_modules = [], []
    for _ in range(runs):
        out = (
            subprocess.run(
                [sys.executable, "-c", PROBE.format(pre=pre, code=code, heavy=HEAVY)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            .stdout.strip()
            .splitlines()
        )
        result = json.loads(out[-1]) if out else None
        if result is None:
            return None
        samples.append(result["ms"])
        sdk_modules = result["sdk_modules"]
    return {"median": median(samples), "min": min(samples), "sdk_modules": sdk_modules}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    rows, ok = [], True
    for name, code in TARGETS.items():
        result = measure(code, args.runs)
        if result is None:
            rows.append((name, "not installed", "", ""))
            continue
        heavy = ", ".join(m for m in result["sdk_modules"] if m.count(".") == 0) or "none"
        rows.append((name, f"{result['median']:.1f}", f"{result['min']:.1f}", heavy))
        if name.startswith(("airflow_provider_ice", "sensor +", "our code")):
            ok = ok and heavy == "none"
    print(f"machine: {machine()}")
    print(f"\nImport cost over `import airflow.sdk` (median of {args.runs} fresh processes)")
    print(table(rows, ("module", "median ms", "min ms", "SDK modules imported")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
