"""IceHook: the ICE (Intelligent Media Services) AI-workflow API from an Airflow connection.

Nothing heavy happens at import: the client stack (``airflow_provider_ice.client``: requests,
aiohttp, the SDK's signer; the ICE SDK itself only for :meth:`IceHook.get_conn`) loads on first
use, so DAG files that import sensors and operators stay cheap to parse.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_ice import DEFAULT_CONN_ID
from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.models import poll_from_answer, task_from_answer, task_id_from_answer
from airflow_provider_ice.params import require_id, start_query

if TYPE_CHECKING:
    from airflow_provider_ice.client.async_sender import AsyncSender
    from airflow_provider_ice.client.config import IceConnectionConfig
    from airflow_provider_ice.client.request import Query
    from airflow_provider_ice.client.sync_sender import SyncSender
    from airflow_provider_ice.models import IceWorkflowTask

__all__ = ["IceHook"]

JsonParam = dict[str, Any] | list[Any] | str | None


class IceHook(BaseHook):
    """Talk to Alibaba Cloud ICE AI workflows.

    :param ice_conn_id: the Airflow connection (type ``alibaba_cloud_ice``); default ``ice_default``.
    :param region_id: the ICE region (e.g. ``cn-shanghai``) instead of the connection's ``region_id``
        extra; default None: the connection's.

    The connection is looked up on first use, never in ``__init__``. Every request is built and
    signed once with the SDK's V3 signer; sync methods send it through a ``requests`` session the
    hook owns, ``a*`` twins through a shared aiohttp session, never blocking the event loop
    (:meth:`get_conn` returns the ICE SDK's own client, for APIs the hook does not wrap).
    Both honour the same proxy settings and trust store. Transient failures are retried per the
    connection's retry settings, StartAIWorkflow only when ICE certainly did not run it; every
    failure surfaces as :class:`~airflow_provider_ice.exceptions.IceApiError`.
    """

    conn_name_attr = "ice_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "alibaba_cloud_ice"
    hook_name = "Alibaba Cloud ICE"

    def __init__(self, ice_conn_id: str = default_conn_name, region_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self._config: IceConnectionConfig | None = None
        self._credential: Any = None
        self._sdk: Any = None
        self._sync: SyncSender | None = None
        self._async: AsyncSender | None = None
        self._poll_queries: dict[str, Query] = {}

    # ---- connection -------------------------------------------------------------------------

    def _config_from(self, login: str | None, password: str | None, extras: dict[str, Any]) -> IceConnectionConfig:
        from airflow_provider_ice.client.config import build_connection_config

        config = build_connection_config(self.ice_conn_id, login, password, extras, region_id=self.region_id)
        if config.protocol == "http":
            self.log.warning(
                "Connection %r uses plain http to %s: only for local servers such as the ICE emulator.",
                self.ice_conn_id,
                config.endpoint,
            )
        return config

    def get_connection_config(self) -> IceConnectionConfig:
        """The validated connection settings (looked up once; secrets registered with the masker)."""
        if self._config is None:
            from airflow.providers.common.compat.sdk import mask_secret

            conn = self.get_connection(self.ice_conn_id)
            config = self._config_from(conn.login, conn.password, conn.extra_dejson)
            for secret in _secrets(config):
                mask_secret(secret)
            self._config = config
        return self._config

    async def aget_connection_config(self) -> IceConnectionConfig:
        """Like :meth:`get_connection_config`, through Airflow's async connection lookup."""
        if self._config is None:
            from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

            try:
                conn = await get_async_connection(self.ice_conn_id, hook=self)
            except AirflowNotFoundException as exc:
                conn = await self._sync_lookup_or_raise(exc)
            extras = await get_async_extra_dejson(conn)
            config = self._config_from(conn.login, conn.password, extras)
            await _amask_secrets(_secrets(config))
            self._config = config
        return self._config

    async def _sync_lookup_or_raise(self, not_found: AirflowNotFoundException) -> Any:
        """The connection through the sync lookup, run off the loop; else ``not_found`` again.

        Works around the in-process trigger runner of ``dag.test()`` / ``airflow dags test``
        (apache/airflow#55236, Airflow 3.1 to 3.3.2 at least): its comms have ``send`` but no
        ``asend``, and the async lookup reports any connection stored in the metastore as "not
        defined". A real triggerer never gets here (the e2e suites check its log for the line
        below). It can go once the runner gives triggers async comms (version_compat.UPSTREAM_WORKAROUNDS).
        """
        from asgiref.sync import sync_to_async

        try:
            conn = await sync_to_async(self.get_connection)(self.ice_conn_id)
        except Exception:
            raise not_found from None
        self.log.info(
            "Connection %r found by the sync lookup: this trigger runner has no async comms (dag.test()).",
            self.ice_conn_id,
        )
        return conn

    def _get_credential(self, config: IceConnectionConfig) -> Any:
        if self._credential is None:
            from airflow_provider_ice.client.credentials import shared_credential

            self._credential = shared_credential(config)
        return self._credential

    def _sync_sender(self) -> SyncSender:
        if self._sync is None:
            from airflow_provider_ice.client.sync_sender import SyncSender

            self._sync = SyncSender(self.get_connection_config())
        return self._sync

    def get_conn(self) -> Any:
        """The ICE SDK's client (``alibabacloud_ice20201109.client.Client``, built once per hook) from
        this connection, for calling ICE APIs this hook does not wrap. The hook's own methods do
        not use it: see ``airflow_provider_ice.client.sdk.sdk_client`` for how it differs."""
        if self._sdk is None:
            from airflow_provider_ice.client.sdk import sdk_client

            config = self.get_connection_config()
            self._sdk = sdk_client(config, self._get_credential(config))
        return self._sdk

    async def _aget_sender(self) -> AsyncSender:
        if self._async is None:
            config = await self.aget_connection_config()
            if _stack_ready(config):  # a triggerer's other waits loaded it all: nothing to wait for
                sender = self._async_parts(config)
            else:
                # The first use loads the client stack (aiohttp, the SDK's signer, the credentials
                # client: slow imports) and a credential chain may read files: never on the event loop.
                sender = await asyncio.to_thread(self._async_parts, config)
            if self._async is None:  # again: concurrent first calls must share one sender
                self._async = sender
        return self._async

    def _async_parts(self, config: IceConnectionConfig) -> AsyncSender:
        from airflow_provider_ice.client.async_sender import AsyncSender

        _calls()  # the whole call path (retries: tenacity), loaded here rather than on the loop
        self._get_credential(config)
        return AsyncSender(config)

    async def aclose(self) -> None:
        """Release this hook's share of the async session (the last user closes it)."""
        if self._async is not None:
            await self._async.close()

    async def __aenter__(self) -> IceHook:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- calls: each action once, for both paths --------------------------------------------

    def _call(self, action: str, query: dict[str, str] | Query) -> dict[str, Any]:
        calls = _calls()
        config = self.get_connection_config()
        credential, send = self._get_credential(config), self._sync_sender().send
        return calls.call(config, credential, send, action, calls.Query.of(query), self.ice_conn_id)

    async def _acall(self, action: str, query: dict[str, str] | Query) -> dict[str, Any]:
        sender = await self._aget_sender()  # first: it loads the client stack off the event loop
        calls = _calls()
        config = await self.aget_connection_config()
        credential = self._get_credential(config)
        return await calls.acall(config, credential, sender.send, action, calls.Query.of(query), self.ice_conn_id)

    def get_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """GetAIWorkflowTask: the task's status, outputs and node results.

        :param workflow_task_id: the TaskId that StartAIWorkflow returned.
        :raises ~airflow_provider_ice.exceptions.IceApiError: after the connection's retries
            (``ResourceNotFound`` for an unknown TaskId).
        """
        return task_from_answer(
            self._call("GetAIWorkflowTask", {"TaskId": require_id("workflow_task_id", workflow_task_id)})
        )

    async def aget_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """Async :meth:`get_workflow_task`.

        :param workflow_task_id: the TaskId that StartAIWorkflow returned.
        """
        task_id = require_id("workflow_task_id", workflow_task_id)
        return task_from_answer(await self._acall("GetAIWorkflowTask", {"TaskId": task_id}))

    async def apoll_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """GetAIWorkflowTask for a wait (the trigger's poll): while the task runs, a record with its
        ``task_id`` and ``status`` only; once it ended, the whole record as :meth:`aget_workflow_task`
        returns it.

        :param workflow_task_id: the TaskId that StartAIWorkflow returned.
        """
        query = self._poll_queries.get(workflow_task_id)
        if query is None:  # checked and encoded once: a wait polls the same task every time
            params = {"TaskId": require_id("workflow_task_id", workflow_task_id)}
            await self._aget_sender()  # the client stack, off the event loop
            query = self._poll_queries[workflow_task_id] = _calls().Query.of(params)
        return poll_from_answer(await self._acall("GetAIWorkflowTask", query))

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
        query = start_query(workflow_id, inputs, user_data, dispatch_tag)
        return _start(query, lambda: task_id_from_answer(self._call("StartAIWorkflow", query)))

    async def astart_ai_workflow(
        self, workflow_id: str, inputs: JsonParam = None, user_data: JsonParam = None, dispatch_tag: str | None = None
    ) -> str:
        """Async :meth:`start_ai_workflow`.

        :param workflow_id: the workflow template's id.
        :param inputs: the task's ``Inputs`` (dict, list or JSON string); default None.
        :param user_data: the task's ``UserData``; default None.
        :param dispatch_tag: ICE's ``DispatchTag``; default None.
        """
        query = start_query(workflow_id, inputs, user_data, dispatch_tag)
        return await _astart(query, lambda: _answered_task_id(self._acall("StartAIWorkflow", query)))

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


def _stack_ready(config: IceConnectionConfig) -> bool:
    """Whether a sender for ``config`` can be made on the event loop: the client stack is imported
    and the connection's credentials client exists (making it may read files)."""
    if "airflow_provider_ice.client.calls" not in sys.modules:
        return False
    from airflow_provider_ice.client.credentials import cached_credential

    return cached_credential(config) is not None


@cache
def _calls() -> ModuleType:
    """The client's call path (:mod:`airflow_provider_ice.client.calls`), imported on first use: it
    loads aiohttp, requests and the SDK's signer."""
    from airflow_provider_ice.client import calls

    return calls


async def _answered_task_id(answer: Awaitable[dict[str, Any]]) -> str:
    return task_id_from_answer(await answer)


def _start(query: dict[str, str], send: Callable[[], str]) -> str:
    from airflow_provider_ice.client.errors import unsure_start

    try:
        return send()
    except IceApiError as exc:
        raise unsure_start(exc, query) from None


async def _astart(query: dict[str, str], send: Callable[[], Awaitable[str]]) -> str:
    from airflow_provider_ice.client.errors import unsure_start

    try:
        return await send()
    except IceApiError as exc:
        raise unsure_start(exc, query) from None


def _refused_stop(error: IceApiError, task_id: str) -> IceApiError:
    from airflow_provider_ice.client.errors import refused_stop

    return refused_stop(error, task_id)


def _secrets(config: IceConnectionConfig) -> tuple[str, ...]:
    """The connection's secrets and the password of the proxy in use (from the extras or the environment)."""
    from urllib.parse import urlsplit

    from airflow_provider_ice.client.network import proxy_for

    proxy_password = urlsplit(proxy_for(config) or "").password
    return (*config.secrets, proxy_password) if proxy_password else config.secrets


async def _amask_secrets(secrets: tuple[str, ...]) -> None:
    """Register secrets with the masker without a blocking call to the supervisor on the event loop."""
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:
        # Airflow < 3.3: mask_secret is sync and, in a 3.x triggerer, tells the supervisor through a
        # channel that fails on the event loop thread (3.0 raises, 3.1 drops it, 3.2 needs greenback).
        # From a sync_to_async thread, as Airflow runs a trigger's sync lookups, it reaches it.
        from airflow.providers.common.compat.sdk import mask_secret
        from asgiref.sync import sync_to_async

        for secret in secrets:
            await sync_to_async(mask_secret)(secret)
        return
    for secret in secrets:
        await amask_secret(secret)
