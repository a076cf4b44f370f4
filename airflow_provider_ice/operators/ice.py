"""IceStartAIWorkflowOperator: start an ICE AI workflow task and (optionally) wait for it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, ResumableJobMixin, conf

from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.links import IceConsoleLink
from airflow_provider_ice.operators.wait_mixin import IceWaitMixin, deferral_timeout, make_trigger
from airflow_provider_ice.params import check_literal_json, require_id, require_positive, template_of
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS, running_line
from airflow_provider_ice.waiting import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_UNREACHABLE_TIMEOUT,
    XCOM_WORKFLOW_TASK_ID,
    log_stop,
)


class IceStartAIWorkflowOperator(IceWaitMixin, ResumableJobMixin, BaseOperator):
    """Start a task from an ICE AI workflow template (StartAIWorkflow); wait for it by default.

    :param workflow_id: the workflow template id (templated).
    :param inputs: the task's Inputs: a dict or list (rendered, then JSON-encoded), a JSON string
        (templated), or an upstream task's output (XComArg); default None: no Inputs. A literal
        that is not JSON fails at DAG parse.
    :param user_data: UserData: any string (sent unchanged), or a dict or list (JSON-encoded);
        templated; default None. Give it something that identifies the run: a Start that may have
        run without an answer can be found by it.
    :param dispatch_tag: DispatchTag (templated); default None.
    :param wait_for_completion: wait until the task is terminal (default True) or, False, push its
        TaskId and end at once.
    :param deferrable: wait in the triggerer, freeing the worker; default ``[operators]
        default_deferrable`` (False unless configured).
    :param poll_interval: seconds between polls while waiting, at first; default 30.
    :param max_poll_interval: the interval grows with the time waited up to this (as for the
        sensor); default 600; equal to ``poll_interval`` (or None) polls at a fixed rate.
    :param timeout: seconds to wait before failing with ``AirflowSensorTimeout``; default None: no
        limit.
    :param unreachable_timeout: while waiting, end with an error once every poll has failed (ICE
        unreachable, after the hook's retries) for this many seconds; default 3600; None: never.
    :param accept_partial_success: succeed on ``partial-succeeded`` too; default False: it fails.
    :param ice_conn_id: the ``alibaba_cloud_ice`` connection (templated); default ``ice_default``.
    :param region_id: the ICE region instead of the connection's ``region_id`` (templated); default
        None: the connection's.

    XCom (none with ``do_xcom_push=False``): ``workflow_task_id`` right after the start; when waiting,
    the sensor's contract (``return_value`` = Outputs, ``node_results``, ``status``) with the same
    outcome rules.
    On Airflow >= 3.3 a retry reattaches to the task this operator already started (the TaskId is
    kept in the task state store) instead of starting a duplicate; below 3.3 Airflow keeps nothing
    across tries, so a retry starts a new task and its start is logged as a warning saying so
    (``durable=True`` there warns that it has no effect).
    ``on_kill`` asks ICE to stop the task. ICE stops real-time (live, RTC) tasks only: an offline
    task keeps running (and billing) until it ends, and the refusal is logged saying so.
    """

    template_fields: Sequence[str] = ("workflow_id", "inputs", "user_data", "dispatch_tag", "ice_conn_id", "region_id")
    template_fields_renderers = {"inputs": "json", "user_data": "json"}
    ui_color = "#ff6a00"
    operator_extra_links = (IceConsoleLink(),)
    external_id_key = "ice_workflow_task_id"

    def __init__(
        self,
        *,
        workflow_id: str,
        inputs: Any = None,
        user_data: Any = None,
        dispatch_tag: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float | None = DEFAULT_MAX_POLL_INTERVAL,
        timeout: float | None = None,
        accept_partial_success: bool = False,
        ice_conn_id: str = IceHook.default_conn_name,
        region_id: str | None = None,
        unreachable_timeout: float | None = DEFAULT_UNREACHABLE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        require_positive("poll_interval", poll_interval)
        require_positive("max_poll_interval", max_poll_interval, allow_none=True)
        require_positive("timeout", timeout, allow_none=True)
        require_positive("unreachable_timeout", unreachable_timeout, allow_none=True)
        super().__init__(**kwargs)
        check_literal_json(self.task_id, "inputs", inputs)
        check_literal_json(self.task_id, "user_data", user_data, any_string=True)
        self.workflow_id = workflow_id
        self._id_template = template_of(workflow_id)  # rendering replaces the field: for messages
        self.inputs = inputs
        self.user_data = user_data
        self.dispatch_tag = dispatch_tag
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.timeout = timeout
        self.accept_partial_success = accept_partial_success
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self.unreachable_timeout = unreachable_timeout
        self.workflow_task_id: str | None = None

    def execute(self, context: Any) -> Any:
        # Unencodable inputs/user_data fail in the hook, before StartAIWorkflow.
        self.workflow_id = require_id("workflow_id", self.workflow_id, self._id_template)
        return self.execute_resumable(context)

    # ---- ResumableJobMixin ------------------------------------------------------------------

    def submit_job(self, context: Any) -> str:
        """Start the ICE task (StartAIWorkflow, never sent twice if it may have run) and push its TaskId.

        :param context: the task's context.
        """
        try:
            task_id = self.hook.start_ai_workflow(
                self.workflow_id, inputs=self.inputs, user_data=self.user_data, dispatch_tag=self.dispatch_tag or None
            )
        except IceApiError as exc:
            if exc.may_have_run:
                # No TaskId to reattach to: an Airflow retry would start a second billed task.
                raise AirflowFailException(f"{exc} Airflow will not retry this task.") from exc
            raise
        try_number = getattr(context.get("ti"), "try_number", 1) or 1
        if try_number > 1 and not getattr(self, "durable", False):
            why = (
                "durable=False"
                if AIRFLOW_V_3_3_PLUS
                else f"reattaching a retry to it needs Airflow >= 3.3 (this is {running_line()})"
            )
            self.log.warning(
                "Started ICE workflow task %s from workflow %s on try %d: a NEW task, not the one an earlier try "
                "started (%s); if that task still runs, stop it in ICE, or set retries=0 on this operator.",
                task_id,
                self.workflow_id,
                try_number,
                why,
            )
        else:
            self.log.info("Started ICE workflow task %s from workflow %s.", task_id, self.workflow_id)
        self._track(context, task_id)
        return task_id

    def get_job_status(self, external_id: Any, context: Any) -> str:
        """The ICE task's status (GetAIWorkflowTask).

        :param external_id: the ICE TaskId.
        :param context: the task's context.
        """
        return self.hook.get_workflow_task(str(external_id)).status

    def is_job_active(self, status: str) -> bool:
        """Whether an ICE task in ``status`` may still change (not one of the terminal statuses).

        :param status: an ICE task status.
        """
        from airflow_provider_ice.models import TERMINAL_STATUSES

        return status not in TERMINAL_STATUSES

    def is_job_succeeded(self, status: str) -> bool:
        """Whether ``status`` ends the wait as a success (``partial-succeeded`` with
        ``accept_partial_success``).

        :param status: an ICE task status.
        """
        from airflow_provider_ice.waiting import Outcome, decide

        return decide(status, self.accept_partial_success) is Outcome.SUCCESS

    def poll_until_complete(self, external_id: Any, context: Any) -> None:
        """Wait for the ICE task as ``wait_for_completion`` and ``deferrable`` say: return at once,
        defer to :class:`~airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger`, or poll here.

        :param external_id: the ICE TaskId.
        :param context: the task's context.
        """
        task_id = self._track(context, str(external_id))
        if not self.wait_for_completion:
            return
        if self.deferrable:
            task = self.first_check(task_id)
            if task is not None and task.is_terminal:
                self.finish(context, task)
                return
            stop_on_kill = AIRFLOW_V_3_3_PLUS  # below, Airflow calls no trigger on_kill
            self.defer(
                trigger=make_trigger(
                    **self.wait_trigger_kwargs(task_id, self.poll_interval, self.timeout, stop_on_kill=stop_on_kill)
                ),
                method_name="execute_complete",
                timeout=deferral_timeout(self.timeout),
            )
        # Not deferrable: poll here through the same hook that started the task (its connection is
        # resolved already), with the trigger's rules (waiting.Wait).
        wait = self.new_wait(task_id, self.poll_interval, self.timeout)
        while True:
            answer = self.poll(task_id)
            event = wait.step(answer, self.log)
            if event is not None:
                break
            time.sleep(wait.next_sleep())
        if isinstance(answer, Exception) or not answer.is_terminal:
            self.execute_complete(context, dict(event))  # raises: error or timeout
        else:
            self.finish(context, answer)

    def get_job_result(self, external_id: Any, context: Any) -> Any:
        """The task's return value: the TaskId without waiting, else the Outputs (the XCom contract).

        :param external_id: the ICE TaskId.
        :param context: the task's context.
        """
        task_id = self._track(context, str(external_id))
        if not self.wait_for_completion:
            return task_id
        if self._finished is None:  # reattached to a task that had succeeded meanwhile: finish it now
            return self.finish(context, self.hook.get_workflow_task(task_id))
        return self._finished[0]

    def _track(self, context: Any, task_id: str) -> str:
        if self.workflow_task_id != task_id:
            self.workflow_task_id = task_id
            if self.do_xcom_push:
                context["ti"].xcom_push(key=XCOM_WORKFLOW_TASK_ID, value=task_id)
            self.log_console_hint(task_id)
        return task_id

    def on_kill(self) -> None:
        if not self.workflow_task_id:
            return
        try:
            self.hook.stop_ai_workflow_task(self.workflow_task_id)
        except (IceApiError, IceConfigurationError) as exc:
            log_stop(self.log, self.workflow_task_id, exc)
        else:
            log_stop(self.log, self.workflow_task_id, None)
