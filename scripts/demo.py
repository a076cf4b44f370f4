"""`make demo`: run example_ice_workflow and example_ice_pipeline end to end against the bundled
ICE emulator.

Starts the emulator (HTTPS, a certificate from a private CA), stores ``ice_default`` pointing at it
in the metastore of a throwaway AIRFLOW_HOME (``airflow connections add``, as users do), runs
``airflow dags test`` of each example, prints what each one's last task read from XCom, and stops
everything. No cloud account, no network.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

from airflow_provider_ice.testing.emulator import IceEmulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW: dict[str, Any] = {
    "workflow_id": "demo-subtitles",
    "name": "Keynote subtitles (emulated)",
    "running_polls": 2,
    "outputs": {
        "subtitles": {"en": "oss://my-bucket/talks/keynote.en.srt", "zh": "oss://my-bucket/talks/keynote.zh.srt"},
        "duration_seconds": 2712,
    },
    "node_results": {
        "asr": {"Status": "succeeded", "Duration": 41},
        "translate": {"Status": "succeeded", "Duration": 17},
        "subtitle_mux": {"Status": "succeeded", "Duration": 3},
    },
}


#: The example DAGs the demo runs, and the log line each one's last task writes its summary in.
DAGS = (("example_ice_workflow", "ICE workflow summary"), ("example_ice_pipeline", "ICE pipeline summary"))
ACTIONS = (
    "StartAIWorkflow",
    "GetAIWorkflowTask",
    "SubmitMediaProducingJob",
    "GetMediaProducingJob",
    "SubmitMediaConvertJob",
    "GetMediaConvertJob",
    "SubmitSnapshotJob",
    "GetSnapshotJob",
)


def main() -> int:
    started = time.monotonic()
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    with tempfile.TemporaryDirectory(prefix="ice-demo-") as home, IceEmulator(tls=True) as emulator:
        emulator.backend.add_workflow(**WORKFLOW)
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(ROOT, "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        env.pop("AIRFLOW_CONN_ICE_DEFAULT", None)
        print(f"ICE emulator listening on {emulator.url} (TLS, a certificate from a private CA)")
        print("Throwaway Airflow home: migrating the metadata DB ...", flush=True)
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
        print("Storing the connection: airflow connections add ice_default ...", flush=True)
        subprocess.run(
            [airflow, *emulator.connections_add_args()], env=env, check=True, capture_output=True, timeout=300
        )
        # The pipeline's media jobs end at their first read (its AI workflow step waits as above).
        for family in ("media_producing", "media_convert", "snapshot"):
            emulator.backend.jobs.plan(family, running_polls=0)
        # ICE_DEMO_LOG: where the matrix's cells, which run side by side, each keep their own
        log_path = os.environ.get("ICE_DEMO_LOG") or os.path.join(ROOT, "demo-output.log")
        summaries, output = {}, ""
        for dag_id, mark in DAGS:
            print(f"Running: airflow dags test {dag_id}", flush=True)
            run = subprocess.run(
                [airflow, "dags", "test", dag_id], env=env, capture_output=True, text=True, timeout=600
            )
            output += run.stdout + run.stderr
            with open(log_path, "w") as f:
                f.write(output)
            match = re.search(mark + r": (\{.*\})", run.stdout + run.stderr)
            if run.returncode != 0 or not match:
                print((run.stdout + run.stderr)[-4000:])
                print(f"demo FAILED in {dag_id} (exit {run.returncode}); full log: {log_path}")
                return 1
            summaries[dag_id] = json.loads(match.group(1))
        calls = {a: emulator.backend.calls(a) for a in ACTIONS}
    for dag_id, summary in summaries.items():
        print(f"\n{dag_id}: its last task read from XCom:")
        print(json.dumps(summary, indent=2, sort_keys=True))
    print(f"\nICE API calls served by the emulator: {calls}")
    print(f"Full Airflow output: {log_path}")
    print(f"demo OK in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
