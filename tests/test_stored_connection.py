"""A connection stored in the metastore (as the UI and `airflow connections add` store it, no
AIRFLOW_CONN_* variable) works for every path of dag.test(): the sensor in each mode, the start
operator deferrable and not. On Airflow 3.3.2 dag.test()'s in-process trigger runner needs the
hook's sync-lookup workaround (IceHook._sync_lookup_or_raise); the e2e suites check that a real
triggerer never takes it."""

from __future__ import annotations

import os

import pytest

from tests.dagrun import run_dag
from tests.dags.ice_sensor_dags import MODES

OUTPUTS = {"video": "oss://bucket/out.mp4"}


@pytest.fixture
def emulator(ice_emulator, ice_stored_connection):
    assert "AIRFLOW_CONN_ICE_DEFAULT" not in os.environ
    ice_emulator.backend.add_workflow("wf", running_polls=2, outputs=OUTPUTS)
    return ice_emulator


@pytest.mark.parametrize("mode", MODES)
def test_the_sensor_finds_a_stored_connection(emulator, mode):
    task_id = emulator.backend.add_task("wf")
    result = run_dag("ice_sensor_dags.py", f"ice_sensor_{mode}_default", workflow_task_id=task_id)
    assert (result.state, result.task_states) == ("success", {"wait": "success", "summarize": "success"})
    assert result.xcoms_of("summarize")["return_value"]["outputs"] == OUTPUTS


@pytest.mark.parametrize("dag_id", ["ice_start_sync", "ice_start_deferrable"])
def test_the_operator_finds_a_stored_connection(emulator, dag_id):
    result = run_dag("ice_operator_dags.py", dag_id)
    assert (result.state, result.task_states) == ("success", {"start": "success", "read": "success"})
    assert result.xcoms_of("read")["return_value"]["outputs"] == OUTPUTS
    assert emulator.backend.calls("StartAIWorkflow") == 1
    (task,) = emulator.backend.tasks.values()
    assert task.status == "succeeded"  # the task started is the task watched to its end


async def test_a_connection_defined_nowhere_is_still_not_found(ice_airflow_db, monkeypatch):
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    from airflow_provider_ice.hooks.ice import IceHook

    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE", raising=False)
    with pytest.raises(AirflowNotFoundException, match="nowhere"):
        await IceHook(ice_conn_id="nowhere").aget_connection_config()
