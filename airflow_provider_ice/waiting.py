"""Waiting on an ICE task from an operator: the shared part of the sensor and the start operator.

Sync check, deferral, resumption and the final verdict live here once. Status meanings come from
:mod:`.outcomes`, the XCom contract from :mod:`.xcom`.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.hooks.ice import IceHook

if TYPE_CHECKING:
    from airflow_provider_ice.models import IceWorkflowTask

#: Named, not imported: importing the trigger module (airflow.triggers.base) costs ~10 ms at DAG parse.
TRIGGER_CLASSPATH = "airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger"


def make_trigger(**kwargs: Any) -> Any:
    """An :class:`~airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger`, imported on first use."""
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    return IceWorkflowTaskTrigger(**kwargs)


#: How long Airflow's own deferral timeout waits past the trigger's deadline: the trigger reports a
#: timeout itself (cleanly, with a message); Airflow's timeout is only the backstop.
DEFERRAL_GRACE = timedelta(minutes=5)


def deferral_timeout(timeout: float | None) -> timedelta | None:
    """Airflow's own deferral timeout: the trigger's deadline plus :data:`DEFERRAL_GRACE`, as a backstop."""
    return None if timeout is None else timedelta(seconds=timeout) + DEFERRAL_GRACE


class IceWaitMixin:
    """Shared by :class:`IceWorkflowTaskSensor` and :class:`IceStartAIWorkflowOperator`."""

    ice_conn_id: str
    region_id: str | None
    accept_partial_success: bool
    max_poll_interval: float | None
    unreachable_timeout: float | None
    do_xcom_push: bool
    log: Any

    @cached_property
    def hook(self) -> IceHook:
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

    def finish(self, context: Any, task: IceWorkflowTask) -> Any:
        """Write the XCom contract for a terminal task, then return its Outputs or raise.

        A failure raises :class:`AirflowFailException`: the remote task will not change, so Airflow
        retries would only repeat the verdict.
        """
        from airflow_provider_ice.outcomes import Outcome, decide, describe
        from airflow_provider_ice.xcom import push_task_results

        outcome = decide(task.status, self.accept_partial_success)
        message = describe(task, outcome)
        succeeded = outcome is Outcome.SUCCESS
        if self.do_xcom_push:
            # On success the caller returns Outputs and Airflow pushes return_value itself.
            push_task_results(context, task, include_return_value=not succeeded)
        if not succeeded:
            raise AirflowFailException(message)
        self.log.info("%s", message)
        return task.outputs

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: validate its event, fetch the final record, decide."""
        from airflow_provider_ice.outcomes import Outcome

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


def reraise_errors_past_soft_fail(exc: BaseException) -> None:
    """``soft_fail`` skips on timeouts and failed tasks, never on bad configuration or API errors.

    Airflow's deferred resume turns *any* AirflowException into a skip under ``soft_fail``; poke
    mode does not. Re-raising the cause keeps the outcome the same in every mode.
    """
    cause = exc.__cause__
    if isinstance(cause, (IceApiError, IceConfigurationError)):
        raise cause from None
