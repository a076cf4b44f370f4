"""The DAGs of the distributed end-to-end test (tests/e2e/test_distributed.py).

``ice_at_scale``: 60 mapped deferrable sensors on ICE tasks that succeed, partially succeed or fail;
20 ``start_from_trigger`` sensors; 20 deferrable operators; a reader of every XCom.
``ice_worker_loss``: operators whose first check is slow, so a Celery worker can be killed while
they run on it, after StartAIWorkflow and before they defer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

# ICE tasks the test creates in the emulator before triggering (one workflow each: own Outputs).
MAPPED = [f"scale-ok-{i:02d}" for i in range(40)] + [f"scale-partial-{i:02d}" for i in range(10)]
MAPPED += [f"scale-fail-{i:02d}" for i in range(10)]
FROM_TRIGGER = [f"scale-trigger-{i:02d}" for i in range(20)]
OPERATORS = 20
WORKER_LOSS_OPERATORS = 6
WAIT: dict[str, Any] = {"poke_interval": 3, "max_poll_interval": 6, "timeout": 900}

with DAG("ice_at_scale", schedule=None, max_active_tasks=200) as ice_at_scale:
    mapped = IceWorkflowTaskSensor.partial(task_id="wait", deferrable=True, accept_partial_success=True, **WAIT).expand(
        workflow_task_id=MAPPED
    )
    from_trigger = [
        IceWorkflowTaskSensor(task_id=f"from_trigger_{i:02d}", workflow_task_id=ice_id, start_from_trigger=True, **WAIT)
        for i, ice_id in enumerate(FROM_TRIGGER)
    ]
    started = IceStartAIWorkflowOperator.partial(
        task_id="start", workflow_id="wf-operator", deferrable=True, poll_interval=3, max_poll_interval=6, timeout=900
    ).expand(user_data=[{"operator": i} for i in range(OPERATORS)])

    @task(trigger_rule="all_done")
    def read_all(ti: Any = None) -> dict[str, Any]:
        """Every waiting task's XComs, keyed by ICE TaskId."""

        def contract(task_id: str, map_index: int | None = None) -> dict[str, Any]:
            kwargs: dict[str, Any] = {"task_ids": task_id}
            if map_index is not None:
                kwargs["map_indexes"] = map_index
            return {
                "status": ti.xcom_pull(key="status", **kwargs),
                "outputs": ti.xcom_pull(key="return_value", **kwargs),
                "node_results": ti.xcom_pull(key="node_results", **kwargs),
            }

        result: dict[str, Any] = {"mapped": {}, "from_trigger": {}, "operators": {}}
        for i, ice_id in enumerate(MAPPED):
            result["mapped"][ice_id] = contract("wait", i)
        for i, ice_id in enumerate(FROM_TRIGGER):
            result["from_trigger"][ice_id] = contract(f"from_trigger_{i:02d}")
        for i in range(OPERATORS):
            ice_id = ti.xcom_pull(task_ids="start", key="workflow_task_id", map_indexes=i)
            result["operators"][str(ice_id)] = contract("start", i) | {"map_index": i}
        return result

    [mapped, started, *from_trigger] >> read_all()

with DAG("ice_worker_loss", schedule=None, max_active_tasks=50) as ice_worker_loss:
    IceStartAIWorkflowOperator.partial(
        task_id="start",
        workflow_id="wf-worker-loss",
        deferrable=True,
        poll_interval=2,
        timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=1),
    ).expand(user_data=[{"operator": i} for i in range(WORKER_LOSS_OPERATORS)])
