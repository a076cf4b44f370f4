"""Your own deferrable operator on IceWorkflowTaskTrigger, as docs/trigger.md shows it
(tests/test_docs.py runs this DAG with dag.test())."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowException, BaseOperator

# [START howto_trigger_custom_operator]
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger


class WaitForSubtitles(BaseOperator):
    """Wait in the triggerer for an ICE task, then hand its TaskId downstream."""

    template_fields = ("workflow_task_id",)

    def __init__(self, *, workflow_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow_task_id = workflow_task_id

    def execute(self, context: Any) -> None:
        self.defer(
            trigger=IceWorkflowTaskTrigger(self.workflow_task_id, poll_interval=10, timeout=3600),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        # one event: status success | failure | error | timeout, and the task's final status
        if event["status"] != "success":
            raise AirflowException(f"ICE task {event['workflow_task_id']}: {event['message']}")
        return event["workflow_task_id"]  # fetch Outputs with IceHook.get_workflow_task if needed


# [END howto_trigger_custom_operator]

with DAG("ice_custom_trigger", schedule=None, params={"task_id": ""}) as dag:
    WaitForSubtitles(task_id="wait", workflow_task_id="{{ params.task_id }}")
