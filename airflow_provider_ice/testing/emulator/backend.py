"""The emulator's backend: workflow templates, task lifecycles, scheduled faults, call counters.

State only, no answer formats: ``protocol`` parses requests, calls the actions here (which
return a snapshot of the task or raise :class:`.ApiError`, the service's refusal by a code ICE
documents, ``errors.py``), formats every answer and answers each
fault kind (:data:`~airflow_provider_ice.testing.emulator.records.FAULT_KINDS`). Records and
codes are in :mod:`.records`. Thread-safe: tests mutate it from their own thread
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
from typing import Any

from airflow_provider_ice.testing.emulator.flow_control import FlowControl
from airflow_provider_ice.testing.emulator.jobs import JobBook
from airflow_provider_ice.testing.emulator.records import (
    FAULT_KINDS,
    REALTIME_TYPES,
    ApiError,
    EmulatedTask,
    Fault,
    FaultKind,
    WorkflowTemplate,
)

__all__ = ["IceBackend"]


class IceBackend:
    """State behind the emulated StartAIWorkflow / GetAIWorkflowTask / StopAIWorkflowTask.

    :param clock: the time source of tasks' lifecycles (``running_seconds``, ``finish_at``);
        default :func:`time.time`. A test may pass a controlled clock.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.workflows: dict[str, WorkflowTemplate] = {}
        self.tasks: dict[str, EmulatedTask] = {}
        self.faults: list[Fault] = []
        self._calls: Counter[tuple[str, str | None]] = Counter()
        #: per-account, per-action calls a second (off until set): ``FlowControl.set(action, rate, code)``
        self.flow_control = FlowControl()
        #: the other job families' jobs and plans (media producing, MediaConvert): :class:`.jobs.JobBook`
        self.jobs = JobBook(clock)

    # ---- set-up -----------------------------------------------------------------------------

    def add_workflow(self, workflow_id: str, **template: Any) -> WorkflowTemplate:
        """Add (or replace) a workflow template that StartAIWorkflow can start.

        :param workflow_id: its id.
        :param template: :class:`.WorkflowTemplate`'s other fields (``running_polls``,
            ``final_status``, ``outputs``…).
        """
        with self._lock:
            wf = self.workflows[workflow_id] = WorkflowTemplate(workflow_id=workflow_id, **template)
            return wf

    def update_workflow(self, workflow_id: str, **changes: Any) -> WorkflowTemplate:
        """Change a workflow's template; its running tasks follow (e.g. a new ``finish_at``).

        :param workflow_id: the workflow to change.
        :param changes: :class:`.WorkflowTemplate` fields and their new values.
        """
        with self._lock:
            wf = self.workflows[workflow_id]
            for name, value in changes.items():
                if name not in wf.__dataclass_fields__ or name == "workflow_id":
                    raise ValueError(f"not a workflow field: {name!r}")
                setattr(wf, name, value)
            return wf

    def add_task(self, workflow_id: str, task_id: str | None = None, inputs: Any = None, user_data: Any = None) -> str:
        """Create a task as if StartAIWorkflow had been called (no call is counted); returns its id.

        :param workflow_id: the template it runs.
        :param task_id: its TaskId; default None: a random one.
        :param inputs: its ``Inputs``; default None.
        :param user_data: its ``UserData``; default None.
        """
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

        :param kind: one of :data:`~airflow_provider_ice.testing.emulator.records.FAULT_KINDS`.
        :param count: how many calls to fault; default 1; None: every call until :meth:`clear_faults`.
        :param rate: instead of ``count``, the fraction of calls to fault, 0 to 1; default None.
        :param action: the action to fault (``StartAIWorkflow``…); default None: any.
        :param delay: seconds a ``delay`` fault waits before answering; default 0.
        :param retry_after_ms: the ``x-acs-retry-after`` header of ``throttling_retry_after``;
            default 200.
        :param status: the HTTP status of a ``non_json`` page (502 by default), or instead of an
            error code's documented status.
        :param code: which of the kind's error codes to answer (the first by default).
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
        """Remove every injected fault."""
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        """Forget workflows, tasks, faults, call counts and flow control."""
        with self._lock:
            self.workflows.clear()
            self.tasks.clear()
            self.faults.clear()
            self._calls.clear()
        self.flow_control.reset()
        self.jobs.reset()

    def load_scenario(self, scenario: dict[str, Any]) -> None:
        """``{"workflows": [{"workflow_id": ..., ...}], "tasks": [{"workflow_id": ..., "task_id": ...}],
        "faults": [{"kind": ..., "count": ...}], "flow_control": [{"action": ..., "rate": ..., "code": ...}],
        "job_plans": [{"family": ..., "final_status": ...}], "jobs": [{"family": ..., "job_id": ...}]}``

        :param scenario: the lists above, each entry the keyword arguments of :meth:`add_workflow`,
            :meth:`add_task`, :meth:`inject`, the flow control's ``set``, or the job book's ``plan``
            and ``add`` (``--scenario`` of the CLI).
        """
        for wf in scenario.get("workflows", []):
            self.add_workflow(**wf)
        for task in scenario.get("tasks", []):
            self.add_task(**task)
        for fault in scenario.get("faults", []):
            self.inject(**fault)
        for limit in scenario.get("flow_control", []):
            self.flow_control.set(**limit)
        for plan in scenario.get("job_plans", []):
            self.jobs.plan(**plan)
        for job in scenario.get("jobs", []):
            self.jobs.add(**job)

    # ---- observation ------------------------------------------------------------------------

    def calls(self, action: str | None = None, task_id: str | None = None) -> int:
        """Requests received (faulted and rejected ones included), by action and/or task id.

        :param action: count only this action's; default None: every action.
        :param task_id: count only calls naming this TaskId (or JobId); default None: any.
        """
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
        """Requests received so far: ``{"action", "task_id", "count"}`` rows."""
        with self._lock:
            return [{"action": a, "task_id": t, "count": n} for (a, t), n in self._calls.items()]

    # ---- request handling (called by the protocol layer) ------------------------------------

    def record_call(self, action: str, task_id: str | None) -> None:
        """Count a request (the protocol layer calls it for each).

        :param action: the request's action.
        :param task_id: the TaskId it names, or None.
        """
        with self._lock:
            self._calls[(action, task_id)] += 1

    def take_fault(self, action: str) -> Fault | None:
        """The fault this request of ``action`` answers with, if any (one of its count is used).

        :param action: the request's action.
        """
        with self._lock:
            for fault in self.faults:
                if fault.action not in (None, action):
                    continue
                if fault.rate is not None:
                    return fault if random.random() < fault.rate else None
                if fault.count is None:  # every call until clear_faults
                    return fault
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
        """StartAIWorkflow: a new task of the named workflow.

        :param params: the request's parameters (``WorkflowId``, ``Inputs``, ``UserData``…).
        :raises ApiError: ``MissingParameter``, ``ResourceNotFound`` or ``InvalidParameter``.
        """
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
        """GetAIWorkflowTask: the task, one poll further along its lifecycle.

        :param params: the request's parameters (``TaskId``).
        :raises ApiError: ``MissingParameter`` or ``ResourceNotFound``.
        """
        with self._lock:
            task = self._task(params)
            self._advance(task)
            return copy.copy(task)  # a snapshot: the protocol formats it outside the lock

    def stop(self, params: dict[str, str]) -> EmulatedTask:
        """StopAIWorkflowTask: stops a real-time task; an offline one is refused.

        :param params: the request's parameters (``TaskId``).
        :raises ApiError: ``MissingParameter``, ``ResourceNotFound`` or ``InvalidParameter``.
        """
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
