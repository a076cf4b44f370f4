"""The XCom contract, written in one place for sensor and operator.

- ``return_value``: the task's parsed Outputs
- ``node_results``: its parsed NodeResults
- ``status``: its final ICE status
- ``workflow_task_id``: (start operator) the TaskId, pushed as soon as the task exists
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_ice.models import IceWorkflowTask

XCOM_RETURN_VALUE = "return_value"
XCOM_NODE_RESULTS = "node_results"
XCOM_STATUS = "status"
XCOM_WORKFLOW_TASK_ID = "workflow_task_id"


def task_result_xcoms(task: IceWorkflowTask) -> dict[str, Any]:
    """The contract's keys and values for a terminal task."""
    return {XCOM_RETURN_VALUE: task.outputs, XCOM_NODE_RESULTS: task.node_results, XCOM_STATUS: task.status}


def push_task_results(context: Any, task: IceWorkflowTask, *, include_return_value: bool) -> None:
    """Push ``node_results`` and ``status`` (and ``return_value`` when the caller will not return it)."""
    ti = context["ti"]
    for key, value in task_result_xcoms(task).items():
        if key != XCOM_RETURN_VALUE or include_return_value:
            ti.xcom_push(key=key, value=value)
