"""IceStartAIWorkflowOperator in real DAG runs against the emulator."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from airflow_provider_ice.exceptions import IceConfigurationError
from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS, running_line
from tests.dagrun import run_dag
from tests.helpers import use_connection

OUTPUTS = {"video": "oss://bucket/out.mp4"}
NODES = {"asr": {"Status": "failed"}}


@pytest.fixture
def emulator(ice_emulator, ice_connection, ice_airflow_db):
    return ice_emulator


def workflow(emulator, final_status="succeeded", running_polls=2, **kw):
    emulator.backend.add_workflow(
        "wf", running_polls=running_polls, final_status=final_status, outputs=OUTPUTS, node_results=NODES, **kw
    )


def only_task(emulator):
    (task,) = emulator.backend.tasks.values()
    return task


@pytest.mark.parametrize("dag_id", ["ice_start_sync", "ice_start_deferrable"])
def test_start_and_wait(emulator, dag_id):
    workflow(emulator)
    result = run_dag("ice_operator_dags.py", dag_id, lang="fr")
    assert result.state == "success"
    task = only_task(emulator)
    assert json.loads(task.inputs)["lang"] == "fr"
    assert json.loads(task.user_data) == {"dag": dag_id}
    assert result.xcoms_of("start") == {
        "workflow_task_id": task.task_id,
        "return_value": OUTPUTS,
        "node_results": NODES,
        "status": "succeeded",
    }
    assert result.xcoms_of("read")["return_value"] == {
        "task_id": task.task_id,
        "outputs": OUTPUTS,
        "node_results": NODES,
    }
    assert emulator.backend.calls("StartAIWorkflow") == 1


def test_inputs_are_rendered_then_json_encoded(emulator):
    workflow(emulator, running_polls=0)
    result = run_dag("ice_operator_dags.py", "ice_start_sync", lang="de")
    inputs = json.loads(only_task(emulator).inputs)
    assert inputs["lang"] == "de"
    assert inputs["run"].startswith("manual__")
    assert result.state == "success"


def test_without_waiting_returns_the_task_id(emulator):
    workflow(emulator, running_polls=10**9)
    result = run_dag("ice_operator_dags.py", "ice_start_nowait")
    task = only_task(emulator)
    assert result.state == "success"
    assert result.xcoms_of("start") == {"workflow_task_id": task.task_id, "return_value": task.task_id}
    assert emulator.backend.calls("GetAIWorkflowTask") == 0


@pytest.mark.parametrize("dag_id", ["ice_start_sync", "ice_start_deferrable"])
@pytest.mark.parametrize("final_status", ["failed", "partial-succeeded"])
def test_failure_writes_xcom_and_is_not_retried(emulator, dag_id, final_status):
    workflow(emulator, final_status=final_status)
    result = run_dag("ice_operator_dags.py", dag_id)
    assert result.task_states["start"] == "failed"
    assert result.try_numbers["start"] == 1
    assert result.xcoms_of("start")["status"] == final_status
    assert result.xcoms_of("start")["node_results"] == NODES
    assert emulator.backend.calls("StartAIWorkflow") == 1


def test_partial_success_accepted(emulator):
    workflow(emulator, final_status="partial-succeeded")
    assert run_dag("ice_operator_dags.py", "ice_start_partial_ok").state == "success"


def run_with_a_retry(emulator, monkeypatch):
    """The first try dies on its first status check, after StartAIWorkflow succeeded (a permanent
    error: a transient one would be ridden out by deferring); Airflow retries the operator."""
    use_connection(monkeypatch, emulator, max_attempts=1)
    workflow(emulator)
    emulator.backend.inject("non_json", 1, action="GetAIWorkflowTask", status=403)
    return run_dag("ice_operator_dags.py", "ice_start_deferrable")


def test_retry_reattaches_instead_of_starting_a_duplicate(emulator, monkeypatch):
    if not AIRFLOW_V_3_3_PLUS:
        pytest.skip("reattaching on retry needs Airflow >= 3.3 (test_retry_below_3_3_starts_a_new_task_and_says_so)")
    result = run_with_a_retry(emulator, monkeypatch)
    assert result.state == "success"
    assert result.try_numbers["start"] == 2
    assert emulator.backend.calls("StartAIWorkflow") == 1
    assert result.xcoms_of("start")["return_value"] == OUTPUTS


def test_retry_below_3_3_starts_a_new_task_and_says_so(emulator, monkeypatch, caplog, capfd):
    """Below 3.3 Airflow clears a task's XComs when a try starts and has no task state store: nothing
    can carry the TaskId to the retry, so the retry's start says it is a new task."""
    if AIRFLOW_V_3_3_PLUS:
        pytest.skip("Airflow >= 3.3 reattaches instead (test_retry_reattaches_instead_of_starting_a_duplicate)")
    caplog.set_level(logging.INFO)
    result = run_with_a_retry(emulator, monkeypatch)
    assert result.state == "success"
    assert result.try_numbers["start"] == 2
    assert emulator.backend.calls("StartAIWorkflow") == 2
    out, err = capfd.readouterr()
    logs = out + err + caplog.text
    assert "on try 2: a NEW task, not the one an earlier try started" in logs, logs[-3000:]
    assert f"needs Airflow >= 3.3 (this is {running_line()})" in logs


@pytest.mark.parametrize("dag_id", ["ice_start_sync", "ice_start_deferrable"])
def test_a_start_that_may_have_run_fails_without_an_airflow_retry(emulator, monkeypatch, dag_id):
    """A read timeout on StartAIWorkflow: no TaskId to reattach to, so neither the hook nor
    Airflow's retry (retries=1 in the DAG) may send it again."""
    use_connection(monkeypatch, emulator, read_timeout=0.3)
    workflow(emulator)
    emulator.backend.inject("delay", 1, action="StartAIWorkflow", delay=0.6)
    result = run_dag("ice_operator_dags.py", dag_id)
    assert result.task_states["start"] == "failed"
    assert result.try_numbers["start"] == 1
    assert emulator.backend.calls("StartAIWorkflow") == 1


def test_bad_inputs_fail_before_start(emulator):
    operator = IceStartAIWorkflowOperator(task_id="s", workflow_id="wf", inputs="{{ 'rendered, but not JSON' }}")
    operator.inputs = "rendered, but not JSON"  # as Airflow renders it
    with pytest.raises(IceConfigurationError, match="inputs"):
        operator.execute({})
    assert emulator.backend.calls() == 0


def test_on_kill_stops_a_real_time_task_and_says_an_offline_one_keeps_running(emulator, caplog, capsys):
    emulator.backend.add_workflow("live", running_polls=10**9, type="Live")
    emulator.backend.add_workflow("offline", running_polls=10**9)  # the default type: Offline
    live, offline = emulator.backend.add_task("live"), emulator.backend.add_task("offline")
    operator = IceStartAIWorkflowOperator(task_id="s", workflow_id="live")
    operator.workflow_task_id = live
    operator.on_kill()
    assert emulator.backend.tasks[live].status == "stopped"
    operator = IceStartAIWorkflowOperator(task_id="s", workflow_id="offline")
    operator.workflow_task_id = offline
    operator.on_kill()  # refused by ICE: logged, not raised
    assert emulator.backend.tasks[offline].status == "running"
    logged = caplog.text + capsys.readouterr().out
    assert f"ICE workflow task {offline} was not stopped: InvalidParameter" in logged
    assert (
        f"ICE stops only real-time (live, RTC) AI workflow tasks: task {offline} keeps running until it ends" in logged
    )


@pytest.mark.parametrize("stop_on_kill", [True, False])
def test_trigger_on_kill_stops_only_what_it_owns(emulator, stop_on_kill):
    if stop_on_kill and not AIRFLOW_V_3_3_PLUS:
        pytest.skip("a trigger's on_kill is called by Airflow >= 3.3 only (below, stop_on_kill=True warns: no effect)")
    emulator.backend.add_workflow("live", running_polls=10**9, type="Live")
    task_id = emulator.backend.add_task("live")
    asyncio.run(IceWorkflowTaskTrigger(task_id, stop_on_kill=stop_on_kill).on_kill())
    assert emulator.backend.calls("StopAIWorkflowTask") == (1 if stop_on_kill else 0)
    assert emulator.backend.tasks[task_id].status == ("stopped" if stop_on_kill else "running")


def test_template_fields():
    assert tuple(IceStartAIWorkflowOperator.template_fields) == (
        "workflow_id",
        "inputs",
        "user_data",
        "dispatch_tag",
        "ice_conn_id",
        "region_id",
    )
