"""What the sensor and the start operator share: the check before deferring, the deferral, the
resumption with its event validated, and the verdict that writes the XCom contract (:class:`IceWaitMixin`).
The rules themselves are :mod:`airflow_provider_ice.waiting`'s.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.lineage import IceLineageMixin
from airflow_provider_ice.models import IceWorkflowTask
from airflow_provider_ice.waiting import XCOM_RETURN_VALUE, Outcome, Wait, decide, describe, task_result_xcoms

if TYPE_CHECKING:
    from airflow_provider_ice.hooks.ice import IceHook


def push_task_results(context: Any, task: IceWorkflowTask, *, include_return_value: bool) -> None:
    """Push ``node_results`` and ``status`` (and ``return_value`` when the caller will not return it)."""
    ti = context["ti"]
    for key, value in task_result_xcoms(task).items():
        if key != XCOM_RETURN_VALUE or include_return_value:
            ti.xcom_push(key=key, value=value)


#: The trigger's class path, for ``StartTriggerArgs`` (Airflow takes it as a string); the trigger
#: module itself loads only when a task defers (it imports airflow.triggers.base, which DAG parsing does not need).
TRIGGER_CLASSPATH = "airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger"
#: Airflow's own deferral timeout waits this long past the trigger's deadline: only a backstop.
DEFERRAL_GRACE = timedelta(minutes=5)


def make_trigger(**kwargs: Any) -> Any:
    """An :class:`~airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger`, imported on first use."""
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    return IceWorkflowTaskTrigger(**kwargs)


def deferral_timeout(timeout: float | None) -> timedelta | None:
    """Airflow's own deferral timeout: the trigger's deadline plus :data:`DEFERRAL_GRACE`, as a backstop."""
    return None if timeout is None else timedelta(seconds=timeout) + DEFERRAL_GRACE


class IceWaitMixin(IceLineageMixin):
    """Shared by :class:`~airflow_provider_ice.sensors.ice.IceWorkflowTaskSensor` and
    :class:`~airflow_provider_ice.operators.ice.IceStartAIWorkflowOperator`."""

    ice_conn_id: str
    region_id: str | None
    accept_partial_success: bool
    max_poll_interval: float | None
    unreachable_timeout: float | None
    do_xcom_push: bool
    log: Any

    @cached_property
    def hook(self) -> IceHook:
        from airflow_provider_ice.hooks.ice import IceHook

        return IceHook(ice_conn_id=self.ice_conn_id, region_id=self.region_id)

    def wait_trigger_kwargs(
        self, workflow_task_id: str, poll_interval: float, timeout: float | None, **extra: Any
    ) -> dict[str, Any]:
        """The trigger's kwargs for waiting on ``workflow_task_id`` with this operator's settings (JSON-safe)."""
        return {
            "workflow_task_id": workflow_task_id,
            "ice_conn_id": self.ice_conn_id,
            "region_id": self.region_id,
            "poll_interval": float(poll_interval),
            "max_poll_interval": self.max_poll_interval,
            "timeout": None if timeout is None else float(timeout),
            "accept_partial_success": self.accept_partial_success,
            "unreachable_timeout": self.unreachable_timeout,
            **extra,
        }

    def new_wait(self, workflow_task_id: str, poll_interval: float, timeout: float | None) -> Wait:
        """A :class:`~airflow_provider_ice.waiting.Wait` on ``workflow_task_id`` with this operator's
        settings, starting now.

        :param workflow_task_id: the TaskId to wait for.
        :param poll_interval: the first poll interval, seconds.
        :param timeout: seconds until the wait times out, or None.
        """
        now = time.time()
        return Wait(
            workflow_task_id,
            accept_partial_success=self.accept_partial_success,
            poll_interval=float(poll_interval),
            max_poll_interval=self.max_poll_interval,
            unreachable_timeout=self.unreachable_timeout,
            started_at=now,
            deadline=None if timeout is None else now + float(timeout),
        )

    def poll(self, workflow_task_id: str) -> IceWorkflowTask | Exception:
        """One poll through the sync hook: the task, or the error of a poll that failed after retries."""
        from airflow_provider_ice.exceptions import IceConfigurationError

        try:
            return self.hook.get_workflow_task(workflow_task_id)
        except (IceApiError, IceConfigurationError) as exc:
            return exc

    def log_console_hint(self, workflow_task_id: str) -> None:
        """Name the TaskId and region to look up behind the "ICE console" link (ICE has no per-task
        page). Only a log line: a connection that cannot be read is left to the call that needs it,
        which raises where the sensor's ``silent_fail``/``never_fail`` and the retries apply."""
        from airflow_provider_ice.links import console_hint

        try:
            region_id = self.hook.get_connection_config().region_id
        except Exception:
            return
        self.log.info("%s", console_hint(workflow_task_id, region_id))

    def first_check(self, workflow_task_id: str) -> IceWorkflowTask | None:
        """The check before deferring; None when ICE cannot be reached now (the trigger polls on)."""
        try:
            return self.hook.get_workflow_task(workflow_task_id)
        except IceApiError as exc:
            if not exc.retryable:
                raise
            self.log.warning("ICE workflow task %s: check failed after retries (%s); deferring", workflow_task_id, exc)
            return None

    #: Outputs of the task :meth:`finish` ended on (a tuple, so that None Outputs still count).
    _finished: tuple[Any] | None = None

    def finish(self, context: Any, task: IceWorkflowTask) -> Any:
        """Write the XCom contract for a terminal task, then return its Outputs or raise. Once per
        instance: a second call returns the first one's Outputs.

        A failure raises :class:`AirflowFailException`: the remote task will not change, so Airflow
        retries would only repeat the verdict.
        """
        if self._finished is not None:
            return self._finished[0]
        self.record_lineage(task, self.hook)
        outcome = decide(task.status, self.accept_partial_success)
        message = describe(task, outcome)
        succeeded = outcome is Outcome.SUCCESS
        if self.do_xcom_push:
            # On success the caller returns Outputs and Airflow pushes return_value itself.
            push_task_results(context, task, include_return_value=not succeeded)
        if not succeeded:
            raise AirflowFailException(message)
        self.log.info("%s", message)
        self._finished = (task.outputs,)
        return task.outputs

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: validate its event, fetch the final record, decide."""
        if not isinstance(event, dict) or event.get("status") not in set(Outcome) or not event.get("workflow_task_id"):
            raise AirflowException(f"Unexpected event from IceWorkflowTaskTrigger: {event!r}")
        status = Outcome(event["status"])
        if status is Outcome.TIMEOUT:
            raise AirflowSensorTimeout(event.get("message") or "Timed out waiting for the ICE workflow task.")
        if status is Outcome.ERROR:
            raise IceApiError(
                event.get("error_code") or "TriggerError",
                event.get("message") or "the trigger failed",
                retryable=bool(event.get("retryable")),
            )
        # The event stays small; Outputs and NodeResults (any size) come from one more call here.
        task = self.hook.get_workflow_task(event["workflow_task_id"])
        if not task.is_terminal:
            raise AirflowException(
                f"The trigger reported {event.get('task_status')!r} but ICE now says {task.status!r} "
                f"for task {task.task_id}."
            )
        return self.finish(context, task)
