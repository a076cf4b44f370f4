"""The one place that decides what an ICE task status means for Airflow, and shapes trigger events.

Sensor, trigger and operator all call :func:`decide`; nothing else compares ICE statuses.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypedDict

from airflow_provider_ice.models import IceWorkflowTask, IceWorkflowTaskStatus

_NODE_FAILED = frozenset({"failed", "fail", "error", "stopped", "timeout", "cancelled", "canceled"})


class Outcome(StrEnum):
    """How a wait ended; the ``status`` of the trigger's event."""

    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    TIMEOUT = "timeout"


class WaitEvent(TypedDict):
    """The trigger's one event. Small on purpose: Outputs and NodeResults are fetched on resume."""

    status: str
    workflow_task_id: str
    task_status: str | None
    message: str
    error_code: str | None
    retryable: bool


def decide(task_status: str, accept_partial_success: bool) -> Outcome:
    """``succeeded`` -> success; ``partial-succeeded`` -> success only if accepted; other terminal -> failure."""
    if task_status == IceWorkflowTaskStatus.SUCCEEDED:
        return Outcome.SUCCESS
    if task_status == IceWorkflowTaskStatus.PARTIAL_SUCCEEDED and accept_partial_success:
        return Outcome.SUCCESS
    return Outcome.FAILURE


def failed_nodes(node_results: Any) -> list[str]:
    """Names of the nodes NodeResults reports as failed, whichever shape it has.

    Accepts ``{"node": {"Status": "failed", ...}}`` and ``[{"NodeId"/"Name": ..., "Status": ...}]``.
    """
    if isinstance(node_results, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in node_results.items()]
    elif isinstance(node_results, list):
        items = [
            (str(v.get("NodeId") or v.get("NodeName") or v.get("Name") or v.get("Id") or i), v)
            for i, v in enumerate(node_results)
            if isinstance(v, dict)
        ]
    else:
        return []
    failed = []
    for name, result in items:
        if isinstance(result, dict):
            status = result.get("Status") or result.get("status") or result.get("State") or result.get("state")
        else:
            status = result
        if isinstance(status, str) and status.lower() in _NODE_FAILED:
            failed.append(name)
    return failed


def describe(task: IceWorkflowTask, outcome: Outcome) -> str:
    """A one-line summary naming the task, its status and (on failure) its failed nodes."""
    text = f"ICE workflow task {task.task_id} ended with status {task.status!r}"
    if outcome is Outcome.SUCCESS:
        return text + "."
    if task.status == IceWorkflowTaskStatus.PARTIAL_SUCCEEDED:
        text += " (set accept_partial_success=True to accept it)"
    nodes = failed_nodes(task.node_results)
    return text + (f"; failed nodes: {', '.join(nodes)}." if nodes else "; NodeResults names no failed node.")


def terminal_event(task: IceWorkflowTask, accept_partial_success: bool) -> WaitEvent:
    outcome = decide(task.status, accept_partial_success)
    return WaitEvent(
        status=outcome.value,
        workflow_task_id=task.task_id,
        task_status=task.status,
        message=describe(task, outcome),
        error_code=None,
        retryable=False,
    )


def error_event(
    workflow_task_id: str, outcome: Outcome, message: str, *, error_code: str | None = None, retryable: bool = False
) -> WaitEvent:
    return WaitEvent(
        status=outcome.value,
        workflow_task_id=workflow_task_id,
        task_status=None,
        message=message,
        error_code=error_code,
        retryable=retryable,
    )
