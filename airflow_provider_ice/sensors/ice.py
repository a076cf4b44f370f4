"""IceWorkflowTaskSensor: wait for an ICE AI workflow task and hand its results to XCom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_ice.sensors.job import IceJobSensor, warn_queue_ignored

__all__ = ["IceWorkflowTaskSensor", "warn_queue_ignored"]


class IceWorkflowTaskSensor(IceJobSensor):
    """Wait until an ICE AI workflow task is terminal; push its Outputs and NodeResults to XCom.

    :param workflow_task_id: the ICE TaskId (templated).

    Every other parameter and mode is :class:`~airflow_provider_ice.sensors.job.IceJobSensor`'s:
    ``ice_conn_id``, ``region_id``, ``accept_partial_success``, ``deferrable``, ``poke_interval``,
    ``max_poll_interval``, ``timeout``, ``unreachable_timeout``, ``start_from_trigger``.

    Outcomes: ``succeeded`` succeeds; ``partial-succeeded`` succeeds only with
    ``accept_partial_success``; ``failed``/``stopped`` fail (``AirflowFailException``, no retries:
    the remote task will not change) naming the failed nodes. XCom, written in every terminal
    outcome: ``return_value`` = Outputs, ``node_results`` = NodeResults, ``status`` = final status.
    """

    template_fields: Sequence[str] = ("workflow_task_id", "ice_conn_id", "region_id")
    workflow_task_id: str

    def __init__(self, *, workflow_task_id: str, **kwargs: Any) -> None:
        super().__init__(job_id=workflow_task_id, **kwargs)
