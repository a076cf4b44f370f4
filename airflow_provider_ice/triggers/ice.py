"""IceJobTrigger: wait on an ICE job of any kind in the triggerer, asynchronously;
IceWorkflowTaskTrigger: the same for an AI workflow task.

Module import is cheap (no SDK, no aiohttp): DAG files import it through the sensor.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_ice import DEFAULT_CONN_ID
from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.kinds import AI_WORKFLOW, kind_named
from airflow_provider_ice.params import require_positive
from airflow_provider_ice.version_compat import degrade_stop_on_kill, refuse_end_from_trigger
from airflow_provider_ice.waiting import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_UNREACHABLE_TIMEOUT,
)

if TYPE_CHECKING:
    from airflow_provider_ice.models import JobRecord

#: Seconds to wait for the triggerer to store one XCom before sending them with the event instead.
XCOM_PUSH_TIMEOUT = 30.0

# The hook and the client stack load when a trigger first runs, not when the
# triggerer (or a DAG file) imports this module.

#: Upper bound (seconds) of the random delay before a trigger's first poll, per
#: FIRST_POLLS_PER_SPREAD triggers waiting for their first poll in the process (never beyond the
#: poll interval): one wait polls within 5 s; 10,000 restarted at once spread over their whole first
#: interval instead of saturating the triggerer's core for minutes.
FIRST_POLL_SPREAD = 5.0
FIRST_POLLS_PER_SPREAD = 1000
_first_polls_pending = 0


class IceJobTrigger(BaseTrigger):
    """Poll an ICE job's get action until the job is terminal; yield exactly one event.

    :param job_id: the job's id (what its submit action returned); default None: given as
        ``workflow_task_id``.
    :param ice_conn_id: the ``alibaba_cloud_ice`` connection; default ``ice_default``.
    :param region_id: the ICE region instead of the connection's ``region_id``; default None: the
        connection's.
    :param poll_interval: seconds between polls at first; default 30.
    :param max_poll_interval: the interval grows with the time waited up to this (see
        ``waiting.next_poll_interval``); default 600; equal to
        ``poll_interval`` (or None) polls at a fixed rate.
    :param timeout: seconds from now after which a ``timeout`` event ends the wait; default None: no
        limit.
    :param accept_partial_success: whether a partial success (an AI workflow's ``partial-succeeded``)
        is a ``success`` event; default False: a ``failure``.
    :param deadline: absolute end of the wait (epoch seconds); default None: now + ``timeout``. Set
        by :meth:`serialize` so that a trigger rebuilt after a triggerer restart keeps the original
        deadline.
    :param started_at: when the wait began (epoch seconds), kept across restarts the same way;
        default None: now.
    :param stop_on_kill: ask ICE to stop the job (StopAIWorkflowTask; the other kinds have no stop
        action, and this does nothing for them) when a user kills the deferred
        task (mark failed/success, clear): Airflow >= 3.3 (below, a warning says it cannot work
        there). ICE stops real-time (live, RTC) tasks only: an offline task keeps running until it
        ends, and the refusal is logged saying so. Never on triggerer restart or timeout. Set by the
        start operator, which owns the task; the sensor only watches. Default False.
    :param end_from_trigger: (Airflow >= 3.3; below, refused) end the Airflow task from here (``TaskSuccessEvent`` /
        ``TaskFailedEvent`` / ``TaskSkippedEvent`` carrying the XCom contract) instead of resuming
        it on a worker: the sensor's ``start_from_trigger`` mode, which then needs no worker at all.
        Default False.
    :param soft_fail: with ``end_from_trigger``, skip instead of failing on timeout or a failed
        task; default False.
    :param unreachable_timeout: end with an ``error`` event once every poll has failed for this many
        seconds (the message gives the first failure, the number of failed polls and the last
        error); default 3600; None: poll on until the deadline.
    :param kind: the job's kind, by name (``media_producing``, ``media_convert``…:
        :data:`airflow_provider_ice.kinds.KINDS`).
    :param workflow_task_id: the id of a media workflow task (its kind's name for it), instead of
        ``job_id``; default None.

    The event is ``{"status": "success" | "failure" | "error" | "timeout", "job_id" (a media
    workflow task's: "workflow_task_id"), "task_status", "message", "error_code", "retryable"}``:
    never the job's results, which the resuming task fetches whatever their size. Transient API
    failures are retried by the hook;
    when its retries run out the trigger keeps polling at its interval, until ``unreachable_timeout``
    or the deadline; a permanent error ends the wait with an ``error`` event. No credential is
    ever serialized.
    """

    # Each class logs under its own name: LoggingMixin.logger() keeps the logger on the class it is
    # called on, which a subclass would otherwise inherit (IceWorkflowTaskTrigger's lines named
    # after IceJobTrigger once a media job's trigger ran first).
    _log = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._log = None

    def __init__(
        self,
        job_id: str | None = None,
        ice_conn_id: str = DEFAULT_CONN_ID,
        region_id: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        accept_partial_success: bool = False,
        max_poll_interval: float | None = DEFAULT_MAX_POLL_INTERVAL,
        deadline: float | None = None,
        started_at: float | None = None,
        stop_on_kill: bool = False,
        end_from_trigger: bool = False,
        soft_fail: bool = False,
        unreachable_timeout: float | None = DEFAULT_UNREACHABLE_TIMEOUT,
        *,
        kind: str,
        workflow_task_id: str | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind_named(kind)
        if (job_id is None) == (workflow_task_id is None):
            raise ValueError(f"give the job's id once, as {self.kind.id_xcom_key}")
        require_positive("poll_interval", poll_interval)
        require_positive("unreachable_timeout", unreachable_timeout, allow_none=True)
        if stop_on_kill:
            degrade_stop_on_kill()
        if end_from_trigger:
            refuse_end_from_trigger()
        self.job_id: str = job_id if job_id is not None else str(workflow_task_id)
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = None if max_poll_interval is None else float(max_poll_interval)
        self.accept_partial_success = accept_partial_success
        self.stop_on_kill = stop_on_kill
        self.end_from_trigger = end_from_trigger
        self.soft_fail = soft_fail
        self.unreachable_timeout = None if unreachable_timeout is None else float(unreachable_timeout)
        self.started_at = started_at if started_at is not None else time.time()
        if deadline is None and timeout is not None:
            deadline = self.started_at + float(timeout)
        self.deadline = deadline

    @property
    def workflow_task_id(self) -> str:
        """The id under the name a workflow task's sensor gives its template field
        (``workflow_task_id``): a ``start_from_trigger`` triggerer renders the trigger's attributes
        named like the sensor's template fields that are trigger kwargs (``render_template_fields``)."""
        return self.job_id

    @workflow_task_id.setter
    def workflow_task_id(self, value: str) -> None:
        self.job_id = value

    def _identity(self) -> dict[str, Any]:
        """The kwargs that name the job: its kind, and its id under the kind's name for it (``job_id``,
        or ``workflow_task_id`` for a media workflow task)."""
        return {"kind": self.kind.name, self.kind.id_xcom_key: self.job_id}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self._identity(),
                "ice_conn_id": self.ice_conn_id,
                "region_id": self.region_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "accept_partial_success": self.accept_partial_success,
                "deadline": self.deadline,
                "started_at": self.started_at,
                "stop_on_kill": self.stop_on_kill,
                "end_from_trigger": self.end_from_trigger,
                "soft_fail": self.soft_fail,
                "unreachable_timeout": self.unreachable_timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_ice.waiting import Wait

        # The first poll's spread comes before anything is built: a triggerer (re)starting ten
        # thousand waits runs the first step of each in one event-loop iteration.
        await self._first_poll_delay()
        from airflow_provider_ice.hooks.ice import IceHook

        hook = IceHook(ice_conn_id=self.ice_conn_id, region_id=self.region_id)
        wait = Wait(
            self.job_id,
            kind=self.kind,
            accept_partial_success=self.accept_partial_success,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
            unreachable_timeout=self.unreachable_timeout,
            started_at=self.started_at,
            deadline=self.deadline,
        )
        # The class's logger, not one per trigger: on Airflow 3 ``self.log`` makes a structlog proxy
        # and its bound logger for each instance (seven objects the garbage collector walks, per
        # wait); the lines are the same, routed to the trigger's log by Airflow's context variables.
        log = type(self).logger()
        # The polling loop is here, not in a coroutine of its own: one frame fewer per sleeping wait.
        try:
            while True:
                answer: JobRecord | Exception
                try:
                    answer = await hook.apoll_job(self.kind, self.job_id)
                except (IceApiError, IceConfigurationError) as exc:
                    answer = exc
                event = wait.step(answer, log)
                if event is not None:
                    break
                del answer  # not kept while asleep: one record fewer per wait
                await asyncio.sleep(wait.next_sleep())
        finally:
            await hook.aclose()
        task = None if isinstance(answer, Exception) or not answer.is_terminal else answer
        yield await self._end_task_event(event, task) if self.end_from_trigger else TriggerEvent(event)

    async def _end_task_event(self, event: dict[str, Any], task: JobRecord | None) -> TriggerEvent:
        """Finish the Airflow task from the triggerer, with the same verdicts as ``execute_complete``."""
        from airflow.triggers.base import TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent

        from airflow_provider_ice.waiting import Outcome, task_result_xcoms

        xcoms = task_result_xcoms(task) if task is not None else None
        status = Outcome(event["status"])
        # A failure may be retried, and Airflow drops a retried event's xcoms: those go with the event
        # (pushed here they would outlive the try). Success and skip end the task: push them here.
        ends = status is Outcome.SUCCESS or (self.soft_fail and status in (Outcome.FAILURE, Outcome.TIMEOUT))
        if xcoms and ends and await self._push_xcoms(xcoms):
            xcoms = None
        if status is Outcome.SUCCESS:
            self.log.info("%s", event["message"])
            return TaskSuccessEvent(xcoms=xcoms)
        self.log.error("%s", event["message"])
        # soft_fail covers timeouts and failed tasks, never API or configuration errors.
        if self.soft_fail and status in (Outcome.FAILURE, Outcome.TIMEOUT):
            return TaskSkippedEvent(xcoms=xcoms)
        return TaskFailedEvent(xcoms=xcoms)

    async def _push_xcoms(self, xcoms: dict[str, Any]) -> bool:
        """Write the XCom contract through the task SDK, as a task would. Airflow 3.3 stores the
        ``xcoms`` of an event JSON-encoded twice (downstream tasks would read a string, not Outputs),
        so they go this way where the triggerer allows it (``XCom.aset``); False: send them with the
        event instead."""
        ti = getattr(self, "task_instance", None)
        try:
            # Not public Airflow API: see version_compat.UPSTREAM_WORKAROUNDS.
            from airflow.sdk.execution_time.xcom import XCom

            aset = XCom.aset
        except (ImportError, AttributeError):
            return False
        if ti is None:
            return False
        try:
            for key, value in xcoms.items():
                push = aset(key, value, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
                await asyncio.wait_for(push, XCOM_PUSH_TIMEOUT)
        except Exception as exc:
            self.log.error(
                "XCom push from the trigger failed (%r); the XComs go with the event instead, which Airflow "
                "3.3.2 stores JSON-encoded twice (downstream tasks read strings)",
                exc,
            )
            return False
        return True

    async def on_kill(self) -> None:
        """Airflow >= 3.3 calls this on user kills only (``cleanup`` runs on every exit)."""
        if not self.stop_on_kill or self.kind.stop_action is None:
            return
        from airflow_provider_ice.hooks.ice import IceHook
        from airflow_provider_ice.waiting import log_stop

        async with IceHook(ice_conn_id=self.ice_conn_id, region_id=self.region_id) as hook:
            try:
                await hook.astop_ai_workflow_task(self.job_id)
            except (IceApiError, IceConfigurationError) as exc:
                log_stop(self.log, self.job_id, exc)
            else:
                log_stop(self.log, self.job_id, None)

    async def _first_poll_delay(self) -> None:
        """Spread the first poll: a triggerer (re)starting a thousand waits must not set them all up,
        sign and send in one event-loop iteration, nor keep them polling in lockstep. The deferring
        task has just checked the status itself, so nothing is lost."""
        global _first_polls_pending
        _first_polls_pending += 1
        spread = FIRST_POLL_SPREAD * max(1.0, _first_polls_pending / FIRST_POLLS_PER_SPREAD)
        try:
            await asyncio.sleep(random.uniform(0, min(self.poll_interval, spread)))
        finally:
            _first_polls_pending -= 1


class IceWorkflowTaskTrigger(IceJobTrigger):
    """Poll GetAIWorkflowTask until the AI workflow task is terminal; yield exactly one event.

    :param workflow_task_id: the ICE TaskId.

    The other parameters are :class:`IceJobTrigger`'s (``kind`` is AI workflows). The event is
    ``{"status", "workflow_task_id", "task_status", "message", "error_code", "retryable"}``.
    """

    def __init__(self, workflow_task_id: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(workflow_task_id, *args, kind=AI_WORKFLOW.name, **kwargs)

    def _identity(self) -> dict[str, Any]:
        return {"workflow_task_id": self.job_id}
