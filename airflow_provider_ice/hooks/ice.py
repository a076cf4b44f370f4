"""IceHook: ICE (Intelligent Media Services) jobs from an Airflow connection: AI workflows and the
other job kinds (:mod:`airflow_provider_ice.kinds`), each action once for both paths.

Nothing heavy happens at import: the client stack (``airflow_provider_ice.client``: requests,
aiohttp, the SDK's signer; the ICE SDK itself only for ``get_conn``) loads on first use, so DAG
files that import sensors and operators stay cheap to parse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_ice import DEFAULT_CONN_ID
from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.hooks.connection import IceHookBase, _calls
from airflow_provider_ice.kinds import AI_WORKFLOW, JobKind
from airflow_provider_ice.models import job_from_answer, job_id_from_answer
from airflow_provider_ice.params import require_client_token, require_id, start_query

if TYPE_CHECKING:
    from airflow_provider_ice.models import IceWorkflowTask, JobRecord

__all__ = ["IceHook"]

JsonParam = dict[str, Any] | list[Any] | str | None


class IceHook(IceHookBase):
    """Talk to Alibaba Cloud ICE: AI workflows, media producing, MediaConvert.

    :param ice_conn_id: the Airflow connection (type ``alibaba_cloud_ice``); default ``ice_default``.
    :param region_id: the ICE region (e.g. ``cn-shanghai``) instead of the connection's ``region_id``
        extra; default None: the connection's.

    The connection is looked up on first use, never in ``__init__``. Every request is built and
    signed once with the SDK's V3 signer; sync methods send it through a ``requests`` session the
    hook owns, ``a*`` twins through a shared aiohttp session, never blocking the event loop
    (:meth:`~airflow_provider_ice.hooks.connection.IceHookBase.get_conn` returns the ICE SDK's own
    client, for APIs the hook does not wrap).
    Both honour the same proxy settings and trust store. Transient failures are retried per the
    connection's retry settings; StartAIWorkflow only when ICE certainly did not run it, a Submit*
    action with its ClientToken (ICE's idempotency key); every failure surfaces as
    :class:`~airflow_provider_ice.exceptions.IceApiError`.
    """

    conn_name_attr = "ice_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "alibaba_cloud_ice"
    hook_name = "Alibaba Cloud ICE"

    # ---- any job kind -----------------------------------------------------------------------

    def get_job(self, kind: JobKind, job_id: str) -> JobRecord:
        """``kind``'s get action (GetMediaConvertJob…): the job's whole record.

        :param kind: the job's kind (:mod:`airflow_provider_ice.kinds`).
        :param job_id: the id its submit action returned.
        :raises ~airflow_provider_ice.exceptions.IceApiError: after the connection's retries.
        """
        query = {kind.id_param: require_id(kind.id_xcom_key, job_id)}
        return job_from_answer(kind, self._call(kind.get_action, query))

    async def aget_job(self, kind: JobKind, job_id: str) -> JobRecord:
        """Async :meth:`get_job`.

        :param kind: the job's kind.
        :param job_id: its id.
        """
        query = {kind.id_param: require_id(kind.id_xcom_key, job_id)}
        return job_from_answer(kind, await self._acall(kind.get_action, query))

    async def apoll_job(self, kind: JobKind, job_id: str) -> JobRecord:
        """``kind``'s get action for a wait (the trigger's poll): while the job runs, a record with
        its id and status only; once it ended, the whole record as :meth:`aget_job` returns it.

        :param kind: the job's kind.
        :param job_id: its id.
        """
        query = self._poll_query
        if query is None or self._poll_key != (kind.name, job_id):
            # Checked and encoded once: a wait polls the same job every time.
            params = {kind.id_param: require_id(kind.id_xcom_key, job_id)}
            await self._aget_sender()  # the client stack, off the event loop
            query = self._poll_query = _calls().Query.of(params)
            self._poll_key = (kind.name, job_id)
        return job_from_answer(kind, await self._acall(kind.get_action, query), poll=True)

    def submit_job(self, kind: JobKind, query: dict[str, str]) -> str:
        """``kind``'s submit action (SubmitMediaConvertJob…) with ``query``; returns the new job's id.
        Resent after a transient failure only with its ClientToken, which ICE answers with the job
        a first request made (StartAIWorkflow, which has none, never when ICE may have run it); a
        failure after which a job may exist says so (``may_have_run``).

        :param kind: the job's kind.
        :param query: the action's parameters, JSON ones encoded (the operators build them). A kind
            whose submit takes ``ClientToken`` gets a random one when the query has none: ICE's
            idempotency key, which lets a resend after a lost answer find the first job.
        """
        query = _with_token(kind, query)
        return _submit(kind, query, lambda: job_id_from_answer(kind, self._call(kind.submit_action, query)))

    async def asubmit_job(self, kind: JobKind, query: dict[str, str]) -> str:
        """Async :meth:`submit_job`.

        :param kind: the job's kind.
        :param query: the action's parameters.
        """
        query = _with_token(kind, query)
        return await _asubmit(kind, query, lambda: _answered_id(kind, self._acall(kind.submit_action, query)))

    # ---- AI workflows -----------------------------------------------------------------------

    def get_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """GetAIWorkflowTask: the task's status, outputs and node results.

        :param workflow_task_id: the TaskId that StartAIWorkflow returned.
        :raises ~airflow_provider_ice.exceptions.IceApiError: after the connection's retries
            (``ResourceNotFound`` for an unknown TaskId).
        """
        return cast("IceWorkflowTask", self.get_job(AI_WORKFLOW, workflow_task_id))

    async def aget_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """Async :meth:`get_workflow_task`.

        :param workflow_task_id: the TaskId that StartAIWorkflow returned.
        """
        return cast("IceWorkflowTask", await self.aget_job(AI_WORKFLOW, workflow_task_id))

    async def apoll_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """GetAIWorkflowTask for a wait (the trigger's poll): while the task runs, a record with its
        ``task_id`` and ``status`` only; once it ended, the whole record as :meth:`aget_workflow_task`
        returns it.

        :param workflow_task_id: the TaskId that StartAIWorkflow returned.
        """
        return cast("IceWorkflowTask", await self.apoll_job(AI_WORKFLOW, workflow_task_id))

    def start_ai_workflow(
        self, workflow_id: str, inputs: JsonParam = None, user_data: JsonParam = None, dispatch_tag: str | None = None
    ) -> str:
        """StartAIWorkflow from a workflow template; returns the new task's id (TaskId).

        Never sent twice when ICE may have run it: the error then says so (see ``may_have_run``).

        :param workflow_id: the workflow template's id (ICE console, *AI workflows*).
        :param inputs: the task's ``Inputs``: a dict or list (sent as JSON) or a JSON string; default
            None: none sent.
        :param user_data: the task's ``UserData``, any string (a dict or list is sent as JSON);
            default None; give it something that identifies the run: a Start with no answer can be found by it.
        :param dispatch_tag: ICE's ``DispatchTag`` (which pipeline runs the task); default None.
        """
        return self.submit_job(AI_WORKFLOW, start_query(workflow_id, inputs, user_data, dispatch_tag))

    async def astart_ai_workflow(
        self, workflow_id: str, inputs: JsonParam = None, user_data: JsonParam = None, dispatch_tag: str | None = None
    ) -> str:
        """Async :meth:`start_ai_workflow`.

        :param workflow_id: the workflow template's id.
        :param inputs: the task's ``Inputs`` (dict, list or JSON string); default None.
        :param user_data: the task's ``UserData``; default None.
        :param dispatch_tag: ICE's ``DispatchTag``; default None.
        """
        return await self.asubmit_job(AI_WORKFLOW, start_query(workflow_id, inputs, user_data, dispatch_tag))

    def stop_ai_workflow_task(self, workflow_task_id: str) -> None:
        """StopAIWorkflowTask. ICE stops real-time (live, RTC) tasks only: for an offline task it
        refuses, and the :class:`~airflow_provider_ice.exceptions.IceApiError` says that the task
        keeps running until it ends.

        :param workflow_task_id: the TaskId to stop.
        """
        task_id = require_id("workflow_task_id", workflow_task_id)
        try:
            self._call("StopAIWorkflowTask", {"TaskId": task_id})
        except IceApiError as exc:
            raise _refused_stop(exc, task_id) from None

    async def astop_ai_workflow_task(self, workflow_task_id: str) -> None:
        """Async :meth:`stop_ai_workflow_task`.

        :param workflow_task_id: the TaskId to stop.
        """
        task_id = require_id("workflow_task_id", workflow_task_id)
        try:
            await self._acall("StopAIWorkflowTask", {"TaskId": task_id})
        except IceApiError as exc:
            raise _refused_stop(exc, task_id) from None

    def test_connection(self) -> tuple[bool, str]:
        """One real call (GetAIWorkflowTask on a task id that does not exist).

        Any answer past authentication, "no such task" included, proves credentials and endpoint.
        Messages name the form's fields and hint at the fix (``airflow_provider_ice.connection_check``).
        """
        from airflow_provider_ice.connection_check import OK, verdict

        try:
            config = self.get_connection_config()
        except IceConfigurationError as exc:
            # Without the connection id: the form's Test runs on a throwaway one.
            return False, exc.detail
        try:
            from airflow_provider_ice.client.request import attempt

            # One attempt, and no connection id in the verdict: the UI's Test runs on a throwaway one.
            send = self._sync_sender().send
            attempt(
                config, self._get_credential(config), send, "GetAIWorkflowTask", {"TaskId": "airflow-connection-test"}
            )
        except IceApiError as exc:
            return verdict(exc, config.credential_type)
        return True, OK

    # ---- connection form (Airflow < 3.2; newer versions read conn-fields from provider info) -----

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_ice.connection_form import UI_FIELD_BEHAVIOUR

        return {key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from airflow_provider_ice.connection_form import connection_form_widgets

        return connection_form_widgets()


def _with_token(kind: JobKind, query: dict[str, str]) -> dict[str, str]:
    if not kind.client_token:
        return query
    if "ClientToken" in query:
        return {**query, "ClientToken": require_client_token(query["ClientToken"])}
    import uuid

    return {**query, "ClientToken": uuid.uuid4().hex}


async def _answered_id(kind: JobKind, answer: Awaitable[dict[str, Any]]) -> str:
    return job_id_from_answer(kind, await answer)


def _submit(kind: JobKind, query: dict[str, str], send: Callable[[], str]) -> str:
    from airflow_provider_ice.client.errors import unsure_submit

    try:
        return send()
    except IceApiError as exc:
        raise unsure_submit(exc, kind, query) from None


async def _asubmit(kind: JobKind, query: dict[str, str], send: Callable[[], Awaitable[str]]) -> str:
    from airflow_provider_ice.client.errors import unsure_submit

    try:
        return await send()
    except IceApiError as exc:
        raise unsure_submit(exc, kind, query) from None


def _refused_stop(error: IceApiError, task_id: str) -> IceApiError:
    from airflow_provider_ice.client.errors import refused_stop

    return refused_stop(error, task_id)
