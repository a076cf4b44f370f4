"""Start an ICE AI workflow, wait for it without holding a worker, then use its results.

Needs an ``alibaba_cloud_ice`` connection (``ice_default``) only when it runs: parsing this file
imports no SDK and makes no call. Trigger with ``{"workflow_id": "<your workflow template id>"}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

log = logging.getLogger(__name__)

with DAG(
    dag_id="example_ice_workflow",
    schedule=None,
    catchup=False,
    tags=["example", "alibaba", "ice"],
    params={
        "workflow_id": Param("demo-subtitles", type="string", description="ICE AI workflow template id"),
        "video": Param("oss://my-bucket/talks/keynote.mp4", type="string"),
    },
) as dag:
    # [START howto_operator_start]
    start = IceStartAIWorkflowOperator(
        task_id="start_workflow",
        workflow_id="{{ params.workflow_id }}",
        inputs={"video_url": "{{ params.video }}", "target_languages": ["en", "zh"]},
        user_data={"airflow_run_id": "{{ run_id }}"},
        wait_for_completion=False,  # the sensor below waits, in the triggerer
    )
    # [END howto_operator_start]

    # [START howto_sensor_deferrable]
    wait = IceWorkflowTaskSensor(
        task_id="wait_for_workflow",
        workflow_task_id="{{ ti.xcom_pull(task_ids='start_workflow', key='workflow_task_id') }}",
        deferrable=True,
        poke_interval=5,
        timeout=6 * 3600,
    )
    # [END howto_sensor_deferrable]

    # [START howto_read_xcom]
    # One XCom (a dict return would be split per key, and Airflow 3.0 rejects a None one).
    @task(multiple_outputs=False)
    def summarize(ti: Any = None) -> dict[str, Any]:
        """Read the sensor's XCom contract: Outputs (return_value) and NodeResults."""
        outputs = ti.xcom_pull(task_ids="wait_for_workflow")
        node_results = ti.xcom_pull(task_ids="wait_for_workflow", key="node_results") or {}
        summary = {
            "workflow_task_id": ti.xcom_pull(task_ids="start_workflow", key="workflow_task_id"),
            "status": ti.xcom_pull(task_ids="wait_for_workflow", key="status"),
            "outputs": outputs,
            "nodes": sorted(node_results) if isinstance(node_results, dict) else node_results,
        }
        log.info("ICE workflow summary: %s", json.dumps(summary, sort_keys=True))
        return summary

    # [END howto_read_xcom]

    start >> wait >> summarize()
