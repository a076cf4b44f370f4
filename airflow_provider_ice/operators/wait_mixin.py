"""What every ICE sensor and submitting operator share, for any job kind: the check before
deferring, the deferral, the resumption with its event validated, and the verdict that writes the
XCom contract (:class:`IceWaitMixin`). The rules themselves are :mod:`airflow_provider_ice.waiting`'s.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.kinds import AI_WORKFLOW, JobKind
from airflow_provider_ice.lineage import IceLineageMixin
from airflow_provider_ice.waiting import XCOM_RETURN_VALUE, Outcome, Wait, describe, judge, task_result_xcoms

if TYPE_CHECKING:
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.models import JobRecord


def push_task_results(context: Any, task: JobRecord, *, include_return_value: bool) -> None:
    """Push the job's XCom contract (``return_value`` only when the caller will not return it)."""
    ti = context["ti"]
    for key, value in task_result_xcoms(task).items():
        if key != XCOM_RETURN_VALUE or include_return_value:
            ti.xcom_push(key=key, value=value)


#: The triggers' class paths, for ``StartTriggerArgs`` (Airflow takes them as strings); the trigger
#: module itself loads only when a task defers (it imports airflow.triggers.base, which DAG parsing does not need).
TRIGGER_CLASSPATH = "airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger"
JOB_TRIGGER_CLASSPATH = "airflow_provider_ice.triggers.ice.IceJobTrigger"
#: Airflow's own deferral timeout waits this long past the trigger's deadline: only a backstop.
DEFERRAL_GRACE = timedelta(minutes=5)


def trigger_target(kind: JobKind, job_id: str) -> tuple[str, dict[str, Any]]:
    """The trigger class path for ``kind`` and the kwargs that name the job: AI workflows keep
    their own trigger (its serialized form predates the other kinds), every other kind shares one."""
    if kind is AI_WORKFLOW:
        return TRIGGER_CLASSPATH, {"workflow_task_id": job_id}
    # The id under the kind's name for it: the sensor's template field of that name is then a
    # trigger kwarg, which a start_from_trigger triggerer renders (BaseTrigger.render_template_fields).
    return JOB_TRIGGER_CLASSPATH, {"kind": kind.name, kind.id_xcom_key: job_id}


def make_trigger(classpath: str = TRIGGER_CLASSPATH, **kwargs: Any) -> Any:
    """The trigger at ``classpath`` (one of :mod:`airflow_provider_ice.triggers.ice`'s), imported on first use."""
    from airflow_provider_ice.triggers import ice

    return getattr(ice, classpath.rpartition(".")[2])(**kwargs)


def deferral_timeout(timeout: float | None) -> timedelta | None:
    """Airflow's own deferral timeout: the trigger's deadline plus :data:`DEFERRAL_GRACE`, as a backstop."""
    return None if timeout is None else timedelta(seconds=timeout) + DEFERRAL_GRACE


class IceWaitMixin(IceLineageMixin):
    """Shared by every ICE sensor and submitting operator; ``kind`` says which job family."""

    #: the job kind this operator waits on
    kind: ClassVar[JobKind] = AI_WORKFLOW
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
        """The trigger's kwargs for waiting on ``workflow_task_id`` (a job id of this operator's kind)
        with this operator's settings (JSON-safe)."""
        return {
            **trigger_target(self.kind, workflow_task_id)[1],
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
            kind=self.kind,
        )

    def defer_to_trigger(
        self, workflow_task_id: str, poll_interval: float, timeout: float | None, **extra: Any
    ) -> None:
        """Defer to this kind's trigger, waiting on ``workflow_task_id`` (resumes in :meth:`execute_complete`)."""
        classpath = trigger_target(self.kind, workflow_task_id)[0]
        kwargs = self.wait_trigger_kwargs(workflow_task_id, poll_interval, timeout, **extra)
        self.defer(  # type: ignore[attr-defined]
            trigger=make_trigger(classpath, **kwargs),
            method_name="execute_complete",
            timeout=deferral_timeout(timeout),
        )

    def poll(self, workflow_task_id: str) -> JobRecord | Exception:
        """One poll through the sync hook: the job, or the error of a poll that failed after retries."""
        from airflow_provider_ice.exceptions import IceConfigurationError

        try:
            return self.hook.get_job(self.kind, workflow_task_id)
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
        self.log.info("%s", console_hint(workflow_task_id, region_id, self.kind.label))

    def first_check(self, workflow_task_id: str) -> JobRecord | None:
        """The check before deferring; None when ICE cannot be reached now (the trigger polls on)."""
        try:
            return self.hook.get_job(self.kind, workflow_task_id)
        except IceApiError as exc:
            if not exc.retryable:
                raise
            self.log.warning("%s %s: check failed after retries (%s); deferring", self.kind.noun, workflow_task_id, exc)
            return None

    #: ``return_value`` of the job :meth:`finish` ended on (a tuple, so that None still counts).
    _finished: tuple[Any] | None = None

    def finish(self, context: Any, task: JobRecord) -> Any:
        """Write the XCom contract for a terminal job, then return its ``return_value`` (an AI
        workflow task's Outputs, another kind's result fields) or raise. Once per instance: a second
        call returns the first one's value.

        A failure raises :class:`AirflowFailException`: the remote job will not change, so Airflow
        retries would only repeat the verdict.
        """
        if self._finished is not None:
            return self._finished[0]
        self.record_lineage(task, self.hook)
        outcome = judge(task, self.accept_partial_success)
        message = describe(task, outcome)
        succeeded = outcome is Outcome.SUCCESS
        if self.do_xcom_push:
            # On success the caller returns return_value and Airflow pushes it itself.
            push_task_results(context, task, include_return_value=not succeeded)
        if not succeeded:
            raise AirflowFailException(message)
        self.log.info("%s", message)
        value = task.xcom_values()[XCOM_RETURN_VALUE]
        self._finished = (value,)
        return value

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: validate its event, fetch the final record, decide."""
        id_key = self.kind.id_xcom_key
        if not isinstance(event, dict) or event.get("status") not in set(Outcome) or not event.get(id_key):
            trigger = trigger_target(self.kind, "")[0].rpartition(".")[2]
            raise AirflowException(f"Unexpected event from {trigger}: {event!r}")
        status = Outcome(event["status"])
        if status is Outcome.TIMEOUT:
            raise AirflowSensorTimeout(event.get("message") or f"Timed out waiting for the {self.kind.noun}.")
        if status is Outcome.ERROR:
            raise IceApiError(
                event.get("error_code") or "TriggerError",
                event.get("message") or "the trigger failed",
                retryable=bool(event.get("retryable")),
            )
        # The event stays small; the job's results (any size) come from one more call here.
        task = self.hook.get_job(self.kind, event[id_key])
        if not task.is_terminal:
            raise AirflowException(
                f"The trigger reported {event.get('task_status')!r} but ICE now says {task.status!r} "
                f"for {self.kind.unit} {task.job_id}."
            )
        return self.finish(context, task)
