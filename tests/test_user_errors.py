"""Errors as a user meets them: argument errors fail once (no Airflow retries) and literal ones at
DAG parse; authentication and permission errors name the field and the connection; a failed task's
message carries its failed nodes' error messages."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_ice.exceptions import IceApiError, IceArgumentError, IceConfigurationError
from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from tests.dagrun import run_dag
from tests.helpers import call, use_connection

MODES = ["sync", "async"]


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ("{lang: en}", "inputs is a string that is not valid JSON"),
        ({"clips": {1, 2}}, "inputs must be JSON-serialisable: set is not JSON-serialisable"),
        (42, "inputs must be a dict, a list or a JSON string, got int"),
    ],
)
def test_a_literal_bad_inputs_fails_at_parse_naming_the_task(inputs, says):
    with pytest.raises(IceArgumentError, match=f"Task 'translate': {says}") as excinfo:
        IceStartAIWorkflowOperator(task_id="translate", workflow_id="wf", inputs=inputs)
    assert isinstance(excinfo.value, AirflowFailException)  # and without Airflow retries, had it run


def test_templated_and_upstream_inputs_are_checked_at_run_time():
    from airflow.providers.common.compat.sdk import DAG, task

    with DAG("parse_only", schedule=None):

        @task
        def make() -> dict[str, str]:
            return {"lang": "en"}

        IceStartAIWorkflowOperator(task_id="a", workflow_id="wf", inputs="{{ params.inputs }}", user_data="run-42")
        IceStartAIWorkflowOperator(task_id="b", workflow_id="wf", inputs={"lang": "{{ params.lang }}", "x": make()})
        IceStartAIWorkflowOperator(task_id="c", workflow_id="wf", inputs=make())


def test_an_argument_error_fails_the_task_once(ice_emulator, ice_connection, ice_airflow_db):
    ice_emulator.backend.add_workflow("wf")
    result = run_dag("ice_operator_dags.py", "ice_start_bad_argument")
    assert (result.task_states["start"], result.try_numbers["start"]) == ("failed", 1)  # retries=1, not used
    assert ice_emulator.backend.calls() == 0


def test_a_template_that_pulled_nothing_fails_before_any_call(ice_emulator, ice_connection, ice_airflow_db):
    result = run_dag("ice_sensor_dags.py", "ice_sensor_nothing_pulled")
    assert (result.task_states["wait"], result.try_numbers["wait"]) == ("failed", 1)  # retries=1, not used
    assert ice_emulator.backend.calls() == 0  # "None" never reached ICE


@pytest.mark.parametrize("rendered", [None, "", "None", "  "])
def test_a_rendered_nothing_names_the_template_and_the_likely_cause(ice_emulator, ice_connection, rendered):
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    template = "{{ ti.xcom_pull(task_ids='strat') }}"
    sensor = IceWorkflowTaskSensor(task_id="wait", workflow_task_id=template)
    sensor.workflow_task_id = rendered  # as Airflow renders it in place
    with pytest.raises(IceArgumentError) as excinfo:
        sensor.execute({})
    message = str(excinfo.value)
    assert f"workflow_task_id is {rendered!r} (rendered from {template!r})" in message
    assert "most likely an xcom_pull that found no value (check its task_ids and key" in message
    from airflow.providers.common.compat.sdk import DAG, task

    with DAG("nothing_pulled", schedule=None):

        @task
        def start() -> str:
            return "t-1"

        upstream = IceWorkflowTaskSensor(task_id="wait_for_output", workflow_task_id=start())  # type: ignore[arg-type]
    upstream.workflow_task_id = rendered
    with pytest.raises(IceArgumentError, match=r"rendered from .\{\{ task_instance.xcom_pull\(task_ids='start'"):
        upstream.execute({})
    operator = IceStartAIWorkflowOperator(task_id="start", workflow_id="{{ params.wf }}")
    operator.workflow_id = "None"
    with pytest.raises(IceArgumentError, match=r"workflow_id is 'None' \(rendered from '\{\{ params.wf \}\}'\)"):
        operator.execute({})
    assert ice_emulator.backend.calls() == 0


def test_a_connection_error_keeps_airflow_retries():
    assert not issubclass(IceConfigurationError, AirflowFailException)
    assert issubclass(IceArgumentError, IceConfigurationError)


@pytest.mark.parametrize("mode", MODES)
def test_authentication_and_permission_errors_name_the_field_and_the_connection(ice_emulator, monkeypatch, mode):
    ice_emulator.backend.add_workflow("wf")
    use_connection(monkeypatch, ice_emulator, "ice_prod", password="not-the-secret")
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "start_ai_workflow", "wf", hook=_hook("ice_prod"))
    assert str(excinfo.value).endswith("— check the AccessKey Secret (password); in connection 'ice_prod'")
    use_connection(monkeypatch, ice_emulator, "ice_prod")
    ice_emulator.backend.inject("permission_denied", 1)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "start_ai_workflow", "wf", hook=_hook("ice_prod"))
    assert "grant ice:StartAIWorkflow to that RAM identity" in str(excinfo.value)
    assert str(excinfo.value).endswith("; in connection 'ice_prod'")
    # Not every error is the connection's.
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "no-such-task", hook=_hook("ice_prod"))
    assert "connection" not in str(excinfo.value)


def _hook(conn_id: str):
    from airflow_provider_ice.hooks.ice import IceHook

    return IceHook(ice_conn_id=conn_id)


async def test_a_failed_tasks_message_carries_its_nodes_errors(ice_emulator, ice_connection):
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    nodes = {"transcode": {"Status": "failed", "ErrorMessage": "codec not supported"}, "asr": {"Status": "succeeded"}}
    ice_emulator.backend.add_workflow("bad", final_status="failed", node_results=nodes)
    async for event in IceWorkflowTaskTrigger(ice_emulator.backend.add_task("bad"), poll_interval=0.01).run():
        assert event.payload["status"] == "failure"
        assert "failed nodes: transcode (codec not supported)." in event.payload["message"]
