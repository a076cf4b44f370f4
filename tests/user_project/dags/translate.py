"""A user's DAG: start an ICE AI workflow, wait for it in the triggerer, publish its subtitles."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

with DAG("translate_talk", schedule=None, params={"video": "oss://talks/keynote.mp4"}) as dag:
    start = IceStartAIWorkflowOperator(
        task_id="start",
        workflow_id="subtitles-en-zh",
        inputs={"video": "{{ params.video }}"},
        user_data="{{ run_id }}",
        wait_for_completion=False,
    )
    wait = IceWorkflowTaskSensor(
        task_id="wait",
        workflow_task_id="{{ ti.xcom_pull(task_ids='start') }}",
        deferrable=True,
        poke_interval=30,
    )

    @task(multiple_outputs=False)
    def publish(ti: Any = None) -> str:
        outputs = ti.xcom_pull(task_ids="wait")
        return outputs["subtitles"]["zh"]

    start >> wait >> publish()
