"""The emulator's backend: workflow templates, task lifecycles, scheduled faults, call counters.

State only, no answer formats: :mod:`.protocol` parses requests, calls the actions here (which
return a snapshot of the task or raise :class:`ApiError`, the service's refusal by Code, Message
and status), formats every answer and owns the fault kinds. Thread-safe: tests mutate it from their
own thread while the server serves.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RUNNING = "running"
FINAL_STATUSES = ("succeeded", "partial-succeeded", "failed", "stopped")


class ApiError(Exception):
    """An error the service answers with: HTTP status, Code and Message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class WorkflowTemplate:
    """A workflow whose tasks run for ``running_polls`` polls and/or ``running_seconds``, then end;
    or, when ``finish_at`` (the backend clock's time) is set, until then: a test that must act while
    tasks run (kill a triggerer, say) holds them with a far ``finish_at`` and moves it closer after.

    ``outputs``/``node_results`` are sent as JSON strings (as the API schema says) unless
    ``fields_as_objects`` asks for JSON objects, as the documentation's sample response shows.
    """

    workflow_id: str
    name: str = "emulated workflow"
    running_polls: int = 0
    running_seconds: float = 0.0
    finish_at: float | None = None
    final_status: str = "succeeded"
    outputs: Any = None
    node_results: Any = None
    type: str = "Vod"
    graph: Any = None
    fields_as_objects: bool = False
    #: ICE documents StopAIWorkflowTask for real-time tasks only; False answers it with an error.
    stoppable: bool = True

    def __post_init__(self) -> None:
        if self.final_status not in FINAL_STATUSES:
            raise ValueError(f"final_status must be one of {FINAL_STATUSES}, got {self.final_status!r}")


@dataclass
class EmulatedTask:
    task_id: str
    workflow: WorkflowTemplate
    inputs: Any
    user_data: Any
    created: float
    polls: int = 0
    status: str = RUNNING
    finished: float | None = None


@dataclass
class Fault:
    kind: str
    count: int | None = 1
    rate: float | None = None
    action: str | None = None
    delay: float = 0.0
    retry_after_ms: int = 200
    #: HTTP status of a ``non_json`` page
    status: int = 502


class IceBackend:
    """State behind the emulated StartAIWorkflow / GetAIWorkflowTask / StopAIWorkflowTask."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.workflows: dict[str, WorkflowTemplate] = {}
        self.tasks: dict[str, EmulatedTask] = {}
        self.faults: list[Fault] = []
        self._calls: Counter[tuple[str, str | None]] = Counter()

    # ---- set-up -----------------------------------------------------------------------------

    def add_workflow(self, workflow_id: str, **template: Any) -> WorkflowTemplate:
        with self._lock:
            wf = self.workflows[workflow_id] = WorkflowTemplate(workflow_id=workflow_id, **template)
            return wf

    def update_workflow(self, workflow_id: str, **changes: Any) -> WorkflowTemplate:
        """Change a workflow's template; its running tasks follow (e.g. a new ``finish_at``)."""
        with self._lock:
            wf = self.workflows[workflow_id]
            for name, value in changes.items():
                if name not in wf.__dataclass_fields__ or name == "workflow_id":
                    raise ValueError(f"not a workflow field: {name!r}")
                setattr(wf, name, value)
            return wf

    def add_task(self, workflow_id: str, task_id: str | None = None, inputs: Any = None, user_data: Any = None) -> str:
        """Create a task as if StartAIWorkflow had been called (no call is counted)."""
        with self._lock:
            workflow = self.workflows[workflow_id]
            task_id = task_id or uuid.uuid4().hex
            self.tasks[task_id] = EmulatedTask(task_id, workflow, inputs, user_data, self._clock())
            return task_id

    def inject(
        self,
        kind: str,
        count: int | None = 1,
        *,
        rate: float | None = None,
        action: str | None = None,
        delay: float = 0.0,
        retry_after_ms: int = 200,
        status: int = 502,
    ) -> None:
        """Make the next ``count`` calls (or a ``rate`` fraction of calls) of ``action`` (any if None) fail.

        Kinds: throttling (400 Throttling.User), throttling_retry_after (same with x-acs-retry-after),
        server_error (500 InternalError), unavailable (503 ServiceUnavailable), drop (connection
        closed without an answer), delay (answer normally after ``delay`` s), non_json (an HTML page,
        HTTP ``status``: 502 by default, as a gateway; 403/407/429 as a proxy might answer),
        redirect (302 to another host, as a misconfigured gateway might answer).
        """
        from airflow_provider_ice.testing.emulator.protocol import FAULT_KINDS  # the protocol answers them

        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {sorted(FAULT_KINDS)}, got {kind!r}")
        with self._lock:
            self.faults.append(
                Fault(kind, None if rate is not None else count, rate, action, delay, retry_after_ms, status)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        with self._lock:
            self.workflows.clear()
            self.tasks.clear()
            self.faults.clear()
            self._calls.clear()

    def load_scenario(self, scenario: dict[str, Any]) -> None:
        """``{"workflows": [{"workflow_id": ..., ...}], "tasks": [{"workflow_id": ..., "task_id": ...}],
        "faults": [{"kind": ..., "count": ...}]}``"""
        for wf in scenario.get("workflows", []):
            self.add_workflow(**wf)
        for task in scenario.get("tasks", []):
            self.add_task(**task)
        for fault in scenario.get("faults", []):
            self.inject(**fault)

    # ---- observation ------------------------------------------------------------------------

    def calls(self, action: str | None = None, task_id: str | None = None) -> int:
        """Requests received (faulted and rejected ones included), by action and/or task id."""
        with self._lock:
            return sum(
                n
                for (a, t), n in self._calls.items()
                if (action is None or a == action) and (task_id is None or t == task_id)
            )

    def calls_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"action": a, "task_id": t, "count": n} for (a, t), n in self._calls.items()]

    # ---- request handling (called by the protocol layer) ------------------------------------

    def record_call(self, action: str, task_id: str | None) -> None:
        with self._lock:
            self._calls[(action, task_id)] += 1

    def take_fault(self, action: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.action not in (None, action):
                    continue
                if fault.rate is not None:
                    return fault if random.random() < fault.rate else None
                if fault.count:
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return fault
            return None

    @staticmethod
    def _required(params: dict[str, str], name: str) -> str:
        value = params.get(name, "")
        if not value:
            raise ApiError(400, f"MissingParameter.{name}", f"The parameter {name} is mandatory for this action.")
        return value

    def _task(self, params: dict[str, str]) -> EmulatedTask:
        task_id = self._required(params, "TaskId")
        task = self.tasks.get(task_id)
        if task is None:
            raise ApiError(404, "InvalidParameter.TaskNotFound", f"The specified TaskId {task_id} does not exist.")
        return task

    # ---- the actions (called by the protocol layer): state changes, or the service's refusal --------

    def start(self, params: dict[str, str]) -> EmulatedTask:
        """StartAIWorkflow."""
        workflow_id = self._required(params, "WorkflowId")
        if workflow_id not in self.workflows:
            raise ApiError(404, "InvalidParameter.WorkflowNotFound", f"The workflow {workflow_id} does not exist.")
        inputs = params.get("Inputs")
        if inputs:
            try:
                json.loads(inputs)
            except ValueError:
                raise ApiError(400, "InvalidParameter.Inputs", "Inputs is not valid JSON.") from None
        with self._lock:
            return copy.copy(self.tasks[self.add_task(workflow_id, inputs=inputs, user_data=params.get("UserData"))])

    def _advance(self, task: EmulatedTask) -> None:
        if task.status != RUNNING:
            return
        task.polls += 1
        wf = task.workflow
        now = self._clock()
        if wf.finish_at is not None:
            if now < wf.finish_at:
                return
        elif task.polls <= wf.running_polls or now - task.created < wf.running_seconds:
            return
        task.status, task.finished = wf.final_status, now

    def get(self, params: dict[str, str]) -> EmulatedTask:
        """GetAIWorkflowTask: the task, one poll further along its lifecycle."""
        with self._lock:
            task = self._task(params)
            self._advance(task)
            return copy.copy(task)  # a snapshot: the protocol formats it outside the lock

    def stop(self, params: dict[str, str]) -> EmulatedTask:
        """StopAIWorkflowTask."""
        with self._lock:
            task = self._task(params)
            if not task.workflow.stoppable:
                raise ApiError(
                    400, "InvalidParameter.TaskType", "Only real-time (live/RTC) workflow tasks can be stopped."
                )
            if task.status == RUNNING:
                task.status, task.finished = "stopped", self._clock()
            return copy.copy(task)


__all__ = ["ApiError", "EmulatedTask", "Fault", "IceBackend", "WorkflowTemplate"]
