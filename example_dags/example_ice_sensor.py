"""Wait for an ICE AI workflow task started elsewhere (console, API, another DAG).

Trigger with ``{"workflow_task_id": "<ICE TaskId>"}``. On Airflow >= 3.3 ``start_from_trigger=True``
sends the task straight to the triggerer: no worker slot is used at all. Below 3.3 the sensor warns
and defers instead: a worker slot for one quick check, then the triggerer waits.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

with DAG(
    dag_id="example_ice_sensor",
    schedule=None,
    catchup=False,
    tags=["example", "alibaba", "ice"],
    params={"workflow_task_id": Param("", type="string", description="ICE AI workflow TaskId")},
) as dag:
    # [START howto_sensor_start_from_trigger]
    IceWorkflowTaskSensor(
        task_id="wait_for_task",
        workflow_task_id="{{ params.workflow_task_id }}",
        start_from_trigger=True,
        poke_interval=5,
        timeout=6 * 3600,
        accept_partial_success=True,
    )
    # [END howto_sensor_start_from_trigger]
