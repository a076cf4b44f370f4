"""IceSubmitJobOperator: submit an ICE job of any kind (:mod:`airflow_provider_ice.kinds`) and
(optionally) wait for it; each kind's operator is this with its kind and its parameters."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, ResumableJobMixin, conf

from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError, IceError
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.links import IceConsoleLink
from airflow_provider_ice.models import JobRecord
from airflow_provider_ice.operators.wait_mixin import IceWaitMixin
from airflow_provider_ice.params import require_positive
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS, running_line
from airflow_provider_ice.waiting import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_UNREACHABLE_TIMEOUT,
    Outcome,
    decide,
    judge,
    log_stop,
)


def default_client_token(context: Any) -> str:
    """The ClientToken of a submit that names none: one per try of the task instance (DAG, task, run,
    map index, try), sent with every resend of that try's submit, so that a resend after a lost
    answer is answered with the job the first request made. A new try (a retry, a cleared task)
    submits a new job: a failed job's verdict never comes back to a run meant to redo it.

    :param context: the task's context.
    """
    ti = context["ti"]
    # The try's own id (Airflow 3: a new UUID per try) or start: a run_id alone repeats (a run
    # recreated for the same date, another deployment on the same ICE account).
    once = getattr(ti, "id", None) or getattr(ti, "start_date", None) or ""
    parts = (ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1), getattr(ti, "try_number", 1), once)
    name = "\n".join(str(part) for part in parts)
    return "airflow-" + hashlib.sha256(name.encode()).hexdigest()[:40]


class IceSubmitJobOperator(IceWaitMixin, ResumableJobMixin, BaseOperator):
    """Submit a job of the class's ``kind`` (:meth:`submit_query` gives the submit action's
    parameters) and wait for it by default.

    :param wait_for_completion: wait until the job is terminal (default True) or, False, push its
        id and end at once.
    :param deferrable: wait in the triggerer, freeing the worker; default ``[operators]
        default_deferrable`` (False unless configured).
    :param poll_interval: seconds between polls while waiting, at first; default 30.
    :param max_poll_interval: the interval grows with the time waited up to this (as for the
        sensors); default 600; equal to ``poll_interval`` (or None) polls at a fixed rate.
    :param timeout: seconds to wait before failing with ``AirflowSensorTimeout``; default None: no
        limit.
    :param unreachable_timeout: while waiting, end with an error once every poll has failed (ICE
        unreachable, after the hook's retries) for this many seconds; default 3600; None: never.
    :param accept_partial_success: succeed on a partial success too (AI workflows'
        ``partial-succeeded``); default False: it fails.
    :param ice_conn_id: the ``alibaba_cloud_ice`` connection (templated); default ``ice_default``.
    :param region_id: the ICE region instead of the connection's ``region_id`` (templated); default
        None: the connection's.

    XCom (none with ``do_xcom_push=False``): the job's id under the kind's key right after the
    submit; when waiting, the kind's contract (``return_value``, ``status``…) as its sensor writes it.
    On Airflow >= 3.3 a retry reattaches to the job this operator already submitted (its id is kept
    in the task state store) instead of submitting a duplicate.
    """

    ui_color = "#ff6a00"
    operator_extra_links = (IceConsoleLink(),)
    #: the record :meth:`get_job_status` read last
    _status_of: JobRecord | None = None

    def __init__(
        self,
        *,
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
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.timeout = timeout
        self.accept_partial_success = accept_partial_success
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self.unreachable_timeout = unreachable_timeout
        setattr(self, self.kind.id_xcom_key, None)  # the submitted job's id (workflow_task_id, job_id)

    def submit_query(self, context: Any) -> dict[str, str]:
        """The submit action's parameters, checked and encoded (each kind's operator gives them).

        :param context: the task's context.
        """
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        result = self.execute_resumable(context)
        # A retry that reattached to a running job ends in poll_until_complete, whose value Airflow's
        # ResumableJobMixin returns (None by its contract): the job's return_value is the verdict's.
        return self._finished[0] if self._finished is not None else result

    # ---- ResumableJobMixin ------------------------------------------------------------------

    def submit_job(self, context: Any) -> str:
        """Submit the job (resent by the hook only with its ClientToken) and push its id.

        :param context: the task's context.
        """
        kind = self.kind
        query = self.submit_query(context)
        if kind.client_token and not query.get("ClientToken"):
            query["ClientToken"] = default_client_token(context)
        try:
            job_id = self.hook.submit_job(kind, query)
        except IceApiError as exc:
            if exc.may_have_run:
                # No id to reattach to: an Airflow retry (a new try, a new ClientToken) would
                # submit a second billed job.
                raise AirflowFailException(f"{exc} Airflow will not retry this task.") from exc
            raise
        except IceError:
            raise  # a connection or argument error, found before anything was sent
        except Exception as exc:
            # Not one of the client's errors (they say whether the call may have run): it cannot
            # be told whether ICE got the submit, so no Airflow retry may send another.
            raise AirflowFailException(
                f"{kind.submit_action} broke off ({type(exc).__name__}: {exc}): it may have created a job"
                f"{' (ClientToken ' + query['ClientToken'] + ')' if query.get('ClientToken') else ''}; "
                "look for it in the ICE console. Airflow will not retry this task."
            ) from exc
        verb = "Started" if kind.submit_action.startswith("Start") else "Submitted"
        try_number = getattr(context.get("ti"), "try_number", 1) or 1
        if try_number > 1 and not getattr(self, "durable", False):
            why = (
                "durable=False"
                if AIRFLOW_V_3_3_PLUS
                else f"reattaching a retry to it needs Airflow >= 3.3 (this is {running_line()})"
            )
            self.log.warning(
                "%s %s %s%s on try %d: a NEW %s, not the one an earlier try %s (%s); if that %s still runs, "
                "stop it in ICE, or set retries=0 on this operator.",
                verb,
                kind.noun,
                job_id,
                self.submitted_from(),
                try_number,
                kind.unit,
                verb.lower(),
                why,
                kind.unit,
            )
        else:
            self.log.info("%s %s %s%s.", verb, kind.noun, job_id, self.submitted_from())
        self._track(context, job_id)
        return job_id

    def submitted_from(self) -> str:
        """What the submit log line adds after the id (`` from workflow …`` for AI workflows)."""
        return ""

    def get_job_status(self, external_id: Any, context: Any) -> str:
        """The job's status (the kind's get action).

        :param external_id: the job's id.
        :param context: the task's context.
        """
        job = self.hook.get_job(self.kind, str(external_id))
        self._status_of = job  # a status that says nothing of success is judged by this record
        return job.status

    def is_job_active(self, status: str) -> bool:
        """Whether a job in ``status`` may still change (not one of the kind's final statuses).

        :param status: an ICE status of the kind.
        """
        return status not in self.kind.terminal

    def is_job_succeeded(self, status: str) -> bool:
        """Whether ``status`` ends the wait as a success.

        :param status: an ICE status of the kind.
        """
        job = self._status_of
        if status in self.kind.settled and job is not None and job.status == status:
            return judge(job, self.accept_partial_success) is Outcome.SUCCESS  # a batch's sub-jobs decide
        return decide(status, self.accept_partial_success, self.kind) is Outcome.SUCCESS

    def poll_until_complete(self, external_id: Any, context: Any) -> None:
        """Wait for the job as ``wait_for_completion`` and ``deferrable`` say: return at once,
        defer to the kind's trigger, or poll here.

        :param external_id: the job's id.
        :param context: the task's context.
        """
        job_id = self._track(context, str(external_id))
        if not self.wait_for_completion:
            return
        if self.deferrable:
            job = self.first_check(job_id)
            if job is not None and job.is_terminal:
                self.finish(context, job)
                return
            # Below 3.3 Airflow calls no trigger on_kill; only AI workflows have a stop action.
            stop_on_kill = AIRFLOW_V_3_3_PLUS and self.kind.stop_action is not None
            self.defer_to_trigger(job_id, self.poll_interval, self.timeout, stop_on_kill=stop_on_kill)
        # Not deferrable: poll here through the same hook that submitted the job (its connection is
        # resolved already), with the trigger's rules (waiting.Wait).
        wait = self.new_wait(job_id, self.poll_interval, self.timeout)
        while True:
            answer = self.poll(job_id)
            event = wait.step(answer, self.log)
            if event is not None:
                break
            time.sleep(wait.next_sleep())
        if isinstance(answer, Exception) or not answer.is_terminal:
            self.execute_complete(context, dict(event))  # raises: error or timeout
        else:
            self.finish(context, answer)

    def get_job_result(self, external_id: Any, context: Any) -> Any:
        """The task's return value: the id without waiting, else the job's ``return_value``.

        :param external_id: the job's id.
        :param context: the task's context.
        """
        job_id = self._track(context, str(external_id))
        if not self.wait_for_completion:
            return job_id
        if self._finished is None:  # reattached to a job that had succeeded meanwhile: finish it now
            return self.finish(context, self.hook.get_job(self.kind, job_id))
        return self._finished[0]

    def _submitted_id(self) -> str | None:
        return getattr(self, self.kind.id_xcom_key, None)

    def _track(self, context: Any, job_id: str) -> str:
        if self._submitted_id() != job_id:
            setattr(self, self.kind.id_xcom_key, job_id)
            if self.do_xcom_push:
                context["ti"].xcom_push(key=self.kind.id_xcom_key, value=job_id)
            self.log_console_hint(job_id)
        return job_id

    def on_kill(self) -> None:
        job_id = self._submitted_id()
        if not job_id or self.kind.stop_action is None:
            return
        try:
            self.hook.stop_ai_workflow_task(job_id)
        except (IceApiError, IceConfigurationError) as exc:
            log_stop(self.log, job_id, exc)
        else:
            log_stop(self.log, job_id, None)
