"""The AccessKey secret and STS token never reach trigger kwargs, logs, XCom or error messages."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from airflow_provider_ice.version_compat import AIRFLOW_V_3_0
from tests.dagrun import run_dag
from tests.helpers import use_connection

TOKEN = "sts-token-MUST-NOT-LEAK-42"


def all_log_files(home: str) -> str:
    return "".join(p.read_text(errors="replace") for p in Path(home, "logs").rglob("*") if p.is_file())


def test_secret_stays_out_of_kwargs_logs_and_xcom(ice_emulator, monkeypatch, ice_airflow_db, caplog, capfd):
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
    if AIRFLOW_V_3_0:
        # Airflow 3.0's task runner logs each value handed to the masker in a DEBUG line of its own
        # ("Sending request msg=MaskSecret(value=...)"); 3.1 stopped that. Those lines only are left
        # out here; the docs' support table tells users of 3.0 to keep task logs at INFO.
        logs = "\n".join(line for line in logs.splitlines() if "MaskSecret(value=" not in line)
    assert "SignatureDoesNotMatch" in logs or "InvalidSecurityToken" in logs
    values = repr([ok.xcom, rejected.xcom])
    for leaked in (secret, "wrong-secret-MUST-NOT-LEAK", TOKEN):
        assert leaked not in logs
        assert leaked not in values


def test_async_lookup_masks_without_the_blocking_call(ice_emulator, monkeypatch):
    """In a triggerer the sync mask_secret would block the event loop on the supervisor: use amask_secret."""
    import asyncio

    import airflow.providers.common.compat.sdk as compat
    from airflow.providers.common.compat.sdk import redact

    from airflow_provider_ice.hooks.ice import IceHook

    sdk_log = pytest.importorskip("airflow.sdk.log", reason="amask_secret is Airflow >= 3.3")
    if not hasattr(sdk_log, "amask_secret"):
        pytest.skip("amask_secret is Airflow >= 3.3 (below: test_async_lookup_reaches_the_supervisor_below_3_3)")

    def blocking(*args, **kwargs):
        raise AssertionError("sync mask_secret called on the event loop")

    monkeypatch.setattr(sdk_log, "mask_secret", blocking)
    monkeypatch.setattr(compat, "mask_secret", blocking, raising=False)
    secret = "async-only-secret-0042"
    use_connection(monkeypatch, ice_emulator, password=secret)
    config = asyncio.run(IceHook().aget_connection_config())
    assert config.access_key_secret == secret
    assert secret not in str(redact(f"value {secret}"))


def test_async_lookup_reaches_the_supervisor_below_3_3(ice_emulator, monkeypatch):
    """Below 3.3 mask_secret is sync, and a 3.x triggerer's channel to its supervisor fails on the
    event loop thread. The channel is stood in for here (no emulator path reaches it), built as Airflow
    3.0-3.1's TriggerCommsDecoder is: send = async_to_sync(asend), which raises on the loop thread and
    works from a sync_to_async thread (3.2's runs the coroutine on the loop from other threads too)."""
    import asyncio

    from airflow.providers.common.compat.sdk import redact
    from asgiref.sync import async_to_sync

    from airflow_provider_ice.hooks.ice import IceHook

    try:
        from airflow.sdk.log import amask_secret  # noqa: F401

        pytest.skip("Airflow >= 3.3 uses amask_secret (test_async_lookup_masks_without_the_blocking_call)")
    except ImportError:
        pass
    told: list[str] = []

    class TriggerComms:
        async def asend(self, msg):
            told.append(msg.value)

        def send(self, msg):
            return async_to_sync(self.asend)(msg)

    try:
        from airflow.sdk.execution_time import task_runner

        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", TriggerComms(), raising=False)
        supervised = True
    except ImportError:  # Airflow 2: no supervisor, the masker is this process's
        supervised = False
    secret = "async-only-secret-0043"
    use_connection(monkeypatch, ice_emulator, password=secret)
    config = asyncio.run(IceHook().aget_connection_config())
    assert config.access_key_secret == secret
    assert secret not in str(redact(f"value {secret}"))
    if supervised:
        assert secret in told  # the supervisor (which writes the trigger's log) masks it too
