"""The DAG of the trigger-queue end-to-end test (tests/e2e/test_trigger_queues.py).

Every ICE wait here asks for the ``ice`` queue except ``deferred_default``, which keeps the default
queue: deferrable sensors, a deferrable operator and ``start_from_trigger`` sensors.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

# ICE tasks the test creates in the emulator before triggering.
DEFERRED_ICE = [f"queue-ice-{i}" for i in range(4)]
FROM_TRIGGER_ICE = [f"queue-trigger-{i}" for i in range(2)]
DEFERRED_DEFAULT = [f"queue-default-{i}" for i in range(2)]
WAIT: dict[str, Any] = {"poke_interval": 2, "max_poll_interval": 4, "timeout": 600}

with DAG("ice_trigger_queues", schedule=None, max_active_tasks=50) as ice_trigger_queues:
    IceWorkflowTaskSensor.partial(task_id="deferred_ice", deferrable=True, queue="ice", **WAIT).expand(
        workflow_task_id=DEFERRED_ICE
    )
    IceStartAIWorkflowOperator(
        task_id="operator_ice",
        workflow_id="wf-queues-operator",
        deferrable=True,
        queue="ice",
        poll_interval=2,
        max_poll_interval=4,
        timeout=600,
    )
    for i, ice_id in enumerate(FROM_TRIGGER_ICE):
        IceWorkflowTaskSensor(
            task_id=f"from_trigger_ice_{i}", workflow_task_id=ice_id, start_from_trigger=True, queue="ice", **WAIT
        )
    IceWorkflowTaskSensor.partial(task_id="deferred_default", deferrable=True, **WAIT).expand(
        workflow_task_id=DEFERRED_DEFAULT
    )
