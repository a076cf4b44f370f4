"""A DAG whose ICE tasks read and write OSS objects, for the OpenLineage test (test_lineage.py)."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

with DAG("ice_lineage", schedule=None) as ice_lineage:
    IceStartAIWorkflowOperator(
        task_id="start",
        workflow_id="wf-lineage",
        inputs={
            "video": {"Type": "OSS", "Media": "oss://media-in/raw/talk.mp4"},
            "glossary": ["https://media-in.oss-cn-shanghai.aliyuncs.com/terms/en%20zh.csv?Expires=1"],
        },
        poll_interval=0.1,
        timeout=60,
        deferrable=True,
    )
    IceWorkflowTaskSensor(
        task_id="wait",
        workflow_task_id="lineage-sensor-task",
        poke_interval=0.1,
        timeout=60,
        deferrable=True,
    )
    # A failed ICE task still reports what it read and what it wrote before failing.
    IceWorkflowTaskSensor(task_id="wait_failed", workflow_task_id="lineage-failed-task", poke_interval=0.1, timeout=60)
