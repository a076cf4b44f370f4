"""The "ICE console" extra link: on the sensor and the operator, registered with Airflow, kept by DAG
serialization, shown for a run task (Airflow 3: the link XCom its end writes), and named in the log
with what to look up (TaskId and region). The browser test opens it on a real UI (tests/e2e)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_ice.get_provider_info import get_provider_info
from airflow_provider_ice.links import ICE_CONSOLE_URL, IceConsoleLink
from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_ice.version_compat import AIRFLOW_V_3_PLUS
from tests.dagrun import run_dag

CLASSES = [IceWorkflowTaskSensor, IceStartAIWorkflowOperator]


@pytest.mark.parametrize("cls", CLASSES)
def test_the_sensor_and_the_operator_show_the_console_link(cls):
    (link,) = cls.operator_extra_links
    assert isinstance(link, IceConsoleLink) and link.name == "ICE console"
    assert link.get_link(None, ti_key=None) == ICE_CONSOLE_URL == "https://ims.console.aliyun.com/summary"


def test_airflow_knows_the_link_class():
    """Registered in the provider info, which is how Airflow's UI may deserialize the link."""
    from airflow.providers_manager import ProvidersManager

    assert get_provider_info()["extra-links"] == ["airflow_provider_ice.links.IceConsoleLink"]
    assert "airflow_provider_ice.links.IceConsoleLink" in ProvidersManager().extra_links_class_names


def test_dag_serialization_keeps_the_link():
    from airflow.providers.common.compat.sdk import DAG
    from airflow.serialization import serialized_objects

    # DagSerialization on Airflow >= 3.3, SerializedDAG before
    serializer: Any = getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG

    with DAG("ice_links", schedule=None) as dag:
        IceWorkflowTaskSensor(task_id="wait", workflow_task_id="t-1")
        IceStartAIWorkflowOperator(task_id="start", workflow_id="wf")
    restored = serializer.from_dict(serializer.to_dict(dag))
    for task_id in ("wait", "start"):
        assert "ICE console" in restored.get_task(task_id).extra_links


@pytest.fixture
def emulator(ice_emulator, ice_connection, ice_airflow_db):
    return ice_emulator


def test_a_run_task_has_the_link_and_its_log_says_what_to_look_up(emulator, caplog, capsys):
    emulator.backend.add_workflow("wf", running_polls=1)
    task_id = emulator.backend.add_task("wf")
    result = run_dag("ice_sensor_dags.py", "ice_sensor_poke_default", workflow_task_id=task_id)
    assert result.state == "success"
    if AIRFLOW_V_3_PLUS:  # Airflow 3 records each link a task shows when the task ends; 2.11 asks the class
        assert result.xcom[("wait", IceConsoleLink().xcom_key)] == ICE_CONSOLE_URL
    hint = f"ICE console: {ICE_CONSOLE_URL} (region cn-shanghai; AI workflow task {task_id})"
    assert hint in caplog.text + capsys.readouterr().out
