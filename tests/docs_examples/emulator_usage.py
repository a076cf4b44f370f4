"""The emulator as the docs show it (docs/emulator.md includes it; tests/test_docs.py runs it)."""

from __future__ import annotations

import os
from typing import Any


def emulated_run() -> dict[str, Any]:
    # [START howto_emulator]
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.testing.emulator import IceEmulator

    with IceEmulator(tls=True) as emulator:  # or IceEmulator() for plain http
        emulator.backend.add_workflow(
            "wf-translate",
            running_polls=3,  # answer "running" to the first 3 polls (or running_seconds=…)
            final_status="succeeded",  # succeeded | partial-succeeded | failed | stopped
            outputs={"subtitle": "oss://bucket/en.srt"},
            node_results={"asr": {"Status": "succeeded"}},
        )
        task_id = emulator.backend.add_task("wf-translate")  # or StartAIWorkflow through the hook
        emulator.backend.inject("throttling", 2)  # the next 2 calls answer Throttling.User (400)
        emulator.backend.flow_control.set("GetAIWorkflowTask", 50)  # 50 calls a second per account
        os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = emulator.connection_uri()
        status = IceHook().get_workflow_task(task_id).status  # retried through the throttling
        calls = emulator.backend.calls("GetAIWorkflowTask", task_id)  # requests received
    # [END howto_emulator]
    return {"status": status, "calls": calls}
