"""The emulator's backend: workflow templates, task lifecycles, scheduled faults, call counters.

State only, no answer formats: :mod:`.protocol` parses requests, calls the actions here (which
return a snapshot of the task or raise :class:`ApiError`, the service's refusal by a code of the
ICE contract, :mod:`airflow_provider_ice.client.codes`), formats every answer and answers each
fault kind (:data:`FAULT_KINDS`, owned here). Thread-safe: tests mutate it from their own thread
while the server serves.
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
from enum import StrEnum
from typing import Any

from airflow_provider_ice.client.codes import status_of
from airflow_provider_ice.testing.emulator.flow_control import FlowControl

RUNNING = "running"
FINAL_STATUSES = ("succeeded", "partial-succeeded", "failed", "stopped")
#: Workflow types whose tasks StopAIWorkflowTask stops: ICE documents stopping for real-time
#: (live streaming, RTC) scenarios only. "Live" is the documentation's example type; the other
#: names, and "Offline" for the default, are assumed.
REALTIME_TYPES = ("Live", "RTC")


class FaultKind(StrEnum):
    """What a fault makes the emulator answer (:mod:`.protocol` answers each)."""

    THROTTLING = "throttling"
    THROTTLING_RETRY_AFTER = "throttling_retry_after"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    PERMISSION_DENIED = "permission_denied"
    NOT_ACTIVATED = "not_activated"
    SUSPENDED = "suspended"
    REQUEST_TOO_LONG = "request_too_long"
    DROP = "drop"
    DELAY = "delay"
    NON_JSON = "non_json"
    REDIRECT = "redirect"


_THROTTLING_CODES = ("Throttling.User", "Throttling", "Throttling.Api", "RequestsTooFrequent")
#: Fault kinds -> the codes each may answer with (first: the default); empty for non-error faults.
FAULT_KINDS: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.THROTTLING: _THROTTLING_CODES,
    FaultKind.THROTTLING_RETRY_AFTER: _THROTTLING_CODES,
    FaultKind.SERVER_ERROR: ("InternalError",),
    FaultKind.UNAVAILABLE: ("ServiceUnAvailable",),
    FaultKind.PERMISSION_DENIED: ("Forbidden.RAM", "Forbidden", "NoPermission", "NotAuthorized"),
    FaultKind.NOT_ACTIVATED: ("OperationDenied",),
    FaultKind.SUSPENDED: ("OperationDenied.Suspended",),
    **{kind: () for kind in (FaultKind.REQUEST_TOO_LONG, FaultKind.DROP, FaultKind.DELAY)},
    **{kind: () for kind in (FaultKind.NON_JSON, FaultKind.REDIRECT)},
}


class ApiError(Exception):
    """An error the service answers with: a code of the ICE contract (its documented HTTP status,
    unless ``status`` overrides it), a message, and for RAM denials the ``access_denied`` detail."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        access_denied: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status or status_of(code)
        self.code, self.message = code, message
        self.headers = headers or {}
        self.access_denied = access_denied


@dataclass
class WorkflowTemplate:
    """A workflow whose tasks run for ``running_polls`` polls and/or ``running_seconds``, then end;
    or, when ``finish_at`` (the backend clock's time) is set, until then: a test that must act while
    tasks run (kill a triggerer, say) holds them with a far ``finish_at`` and moves it closer after.

    ``outputs``/``node_results`` are sent as JSON strings (as the API schema says) unless
    ``fields_as_objects`` asks for JSON objects, as the documentation's sample response shows.
    ``type`` is the scenario: only real-time types (:data:`REALTIME_TYPES`) can be stopped; the
    default, ``Offline``, cannot. ``running_status`` is what a running task reports (any string: an
    undocumented one tests how a client copes).
    """

    workflow_id: str
    name: str = "emulated workflow"
    running_polls: int = 0
    running_seconds: float = 0.0
    finish_at: float | None = None
    final_status: str = "succeeded"
    outputs: Any = None
    node_results: Any = None
    type: str = "Offline"
    graph: Any = None
    fields_as_objects: bool = False
    running_status: str = RUNNING

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
    kind: FaultKind
    count: int | None = 1
    rate: float | None = None
    action: str | None = None
    delay: float = 0.0
    retry_after_ms: int = 200
    #: HTTP status of a ``non_json`` page (default 502), or instead of an error code's documented one
    status: int | None = None
    #: the error code, one of :data:`FAULT_KINDS` [kind]
    code: str | None = None


class IceBackend:
    """State behind the emulated StartAIWorkflow / GetAIWorkflowTask / StopAIWorkflowTask."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.workflows: dict[str, WorkflowTemplate] = {}
        self.tasks: dict[str, EmulatedTask] = {}
        self.faults: list[Fault] = []
        self._calls: Counter[tuple[str, str | None]] = Counter()
        #: per-account, per-action calls a second (off until set): :mod:`.flow_control`
        self.flow_control = FlowControl()

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
            self.tasks[task_id] = EmulatedTask(
                task_id, workflow, inputs, user_data, self._clock(), status=workflow.running_status
            )
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
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        """Make the next ``count`` calls (or a ``rate`` fraction of calls) of ``action`` (any if None) fail.

        Error kinds answer as ICE documents (``code`` picks among a kind's codes; the first is the
        default): throttling (400 Throttling.User; Throttling, Throttling.Api, or 403
        RequestsTooFrequent), throttling_retry_after (the same with x-acs-retry-after),
        server_error (500 InternalError), unavailable (503 ServiceUnAvailable), permission_denied
        (403 Forbidden.RAM, Forbidden, NoPermission or NotAuthorized, with AccessDeniedDetail
        naming ``ice:<action>``), not_activated (403 OperationDenied), suspended (403
        OperationDenied.Suspended). Others: request_too_long (414 with an HTML page, as the web
        server in front of the gateway answers), drop (connection closed without an answer), delay
        (answer normally after ``delay`` s), non_json (an HTML page, HTTP ``status``: 502 by
        default, as a gateway; 403/407/429 as a proxy might answer), redirect (302 to another host,
        as a misconfigured gateway might answer).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {sorted(FAULT_KINDS)}, got {kind!r}")
        fault_kind = FaultKind(kind)
        if code is not None and code not in FAULT_KINDS[fault_kind]:
            raise ValueError(f"a {kind} fault answers one of {list(FAULT_KINDS[fault_kind])}, got {code!r}")
        with self._lock:
            self.faults.append(
                Fault(
                    fault_kind, None if rate is not None else count, rate, action, delay, retry_after_ms, status, code
                )
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
        self.flow_control.reset()

    def load_scenario(self, scenario: dict[str, Any]) -> None:
        """``{"workflows": [{"workflow_id": ..., ...}], "tasks": [{"workflow_id": ..., "task_id": ...}],
        "faults": [{"kind": ..., "count": ...}], "flow_control": [{"action": ..., "rate": ..., "code": ...}]}``"""
        for wf in scenario.get("workflows", []):
            self.add_workflow(**wf)
        for task in scenario.get("tasks", []):
            self.add_task(**task)
        for fault in scenario.get("faults", []):
            self.inject(**fault)
        for limit in scenario.get("flow_control", []):
            self.flow_control.set(**limit)

    # ---- observation ------------------------------------------------------------------------

    def calls(self, action: str | None = None, task_id: str | None = None) -> int:
        """Requests received (faulted and rejected ones included), by action and/or task id."""
        with self._lock:
            return sum(
                n
                for (a, t), n in self._calls.items()
                if (action is None or a == action) and (task_id is None or t == task_id)
            )

    def tasks_snapshot(self) -> list[dict[str, Any]]:
        """Every task: its id, workflow, status and UserData."""
        with self._lock:
            return [
                {
                    "task_id": t.task_id,
                    "workflow_id": t.workflow.workflow_id,
                    "status": t.status,
                    "user_data": t.user_data,
                }
                for t in self.tasks.values()
            ]

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
            raise ApiError(
                "MissingParameter",
                f"The input parameter {name} that is mandatory for processing this request is not supplied.",
            )
        return value

    def _task(self, params: dict[str, str]) -> EmulatedTask:
        task_id = self._required(params, "TaskId")
        task = self.tasks.get(task_id)
        if task is None:
            raise ApiError("ResourceNotFound", f"The specified resource TaskId {task_id} is not found.")
        return task

    # ---- the actions (called by the protocol layer): state changes, or the service's refusal --------

    def start(self, params: dict[str, str]) -> EmulatedTask:
        """StartAIWorkflow."""
        workflow_id = self._required(params, "WorkflowId")
        if workflow_id not in self.workflows:
            raise ApiError("ResourceNotFound", f"The specified resource WorkflowId {workflow_id} is not found.")
        inputs = params.get("Inputs")
        if inputs:
            try:
                json.loads(inputs)
            except ValueError:
                raise ApiError("InvalidParameter", "The specified parameter Inputs is not valid: not JSON.") from None
        with self._lock:
            return copy.copy(self.tasks[self.add_task(workflow_id, inputs=inputs, user_data=params.get("UserData"))])

    def _advance(self, task: EmulatedTask) -> None:
        if task.finished is not None:
            return
        task.polls += 1
        wf = task.workflow
        now = self._clock()
        task.status = wf.running_status
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
            if task.workflow.type not in REALTIME_TYPES:
                raise ApiError(
                    "InvalidParameter",
                    f"StopAIWorkflowTask stops real-time (live, RTC) workflow tasks only; the workflow of task "
                    f"{task.task_id} is of type {task.workflow.type}.",
                )
            if task.finished is None:
                task.status, task.finished = "stopped", self._clock()
            return copy.copy(task)


__all__ = [
    "FAULT_KINDS",
    "REALTIME_TYPES",
    "ApiError",
    "EmulatedTask",
    "Fault",
    "FaultKind",
    "IceBackend",
    "WorkflowTemplate",
]
