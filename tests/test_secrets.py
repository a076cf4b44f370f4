"""The AccessKey secret and STS token never reach trigger kwargs, logs, XCom or error messages."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from tests.dagrun import run_dag
from tests.helpers import use_connection

TOKEN = "sts-token-MUST-NOT-LEAK-42"


def all_log_files(home: str) -> str:
    return "".join(p.read_text(errors="replace") for p in Path(home, "logs").rglob("*") if p.is_file())


def test_secret_stays_out_of_kwargs_logs_and_xcom(ice_emulator, monkeypatch, airflow_db, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    secret = ice_emulator.access_key_secret
    ice_emulator.backend.add_workflow(
        "wf", running_polls=2, final_status="failed", outputs={"o": 1}, node_results={"n": {"Status": "failed"}}
    )
    use_connection(monkeypatch, ice_emulator, retry_base_delay=0.01)
    ice_emulator.backend.inject("throttling", 2)

    kwargs = IceWorkflowTaskTrigger("t", timeout=5).serialize()[1]
    assert secret not in json.dumps(kwargs)

    ok = run_dag(
        "ice_sensor_dags.py", "ice_sensor_deferrable_default", workflow_task_id=ice_emulator.backend.add_task("wf")
    )
    assert ok.task_states["wait"] == "failed"

    # The same with a wrong secret and an STS token: the request is rejected; the log says why.
    use_connection(
        monkeypatch, ice_emulator, password="wrong-secret-MUST-NOT-LEAK", credential_type="sts", security_token=TOKEN
    )
    rejected = run_dag("ice_sensor_dags.py", "ice_sensor_deferrable_default", workflow_task_id="t")
    assert rejected.task_states["wait"] == "failed"

    out, err = capfd.readouterr()
    logs = out + err + caplog.text + all_log_files(os.environ["AIRFLOW_HOME"])
    assert "SignatureDoesNotMatch" in logs or "InvalidSecurityToken" in logs
    values = repr([ok.xcom, rejected.xcom])
    for leaked in (secret, "wrong-secret-MUST-NOT-LEAK", TOKEN):
        assert leaked not in logs
        assert leaked not in values


def test_async_lookup_masks_without_the_blocking_call(ice_emulator, monkeypatch):
    """In a triggerer the sync mask_secret would block the event loop on the supervisor: use amask_secret."""
    import asyncio

    import airflow.providers.common.compat.sdk as compat
    import airflow.sdk.log as sdk_log
    from airflow.providers.common.compat.sdk import redact

    from airflow_provider_ice.hooks.ice import IceHook

    def blocking(*args, **kwargs):
        raise AssertionError("sync mask_secret called on the event loop")

    monkeypatch.setattr(sdk_log, "mask_secret", blocking)
    monkeypatch.setattr(compat, "mask_secret", blocking, raising=False)
    secret = "async-only-secret-0042"
    use_connection(monkeypatch, ice_emulator, password=secret)
    config = asyncio.run(IceHook().aget_connection_config())
    assert config.access_key_secret == secret
    assert secret not in str(redact(f"value {secret}"))
