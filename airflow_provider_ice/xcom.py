"""The XCom contract, written in one place for sensor and operator.

- ``return_value``: the task's parsed Outputs
- ``node_results``: its parsed NodeResults
- ``status``: its final ICE status
- ``workflow_task_id``: (start operator) the TaskId, pushed as soon as the task exists
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ice.models import IceWorkflowTask

XCOM_RETURN_VALUE = "return_value"
XCOM_NODE_RESULTS = "node_results"
XCOM_STATUS = "status"
XCOM_WORKFLOW_TASK_ID = "workflow_task_id"


def push_task_results(context: Any, task: IceWorkflowTask, *, include_return_value: bool) -> None:
    """Push ``node_results`` and ``status`` (and ``return_value`` when the caller will not return it)."""
    ti = context["ti"]
    ti.xcom_push(key=XCOM_NODE_RESULTS, value=task.node_results)
    ti.xcom_push(key=XCOM_STATUS, value=task.status)
    if include_return_value:
        ti.xcom_push(key=XCOM_RETURN_VALUE, value=task.outputs)
