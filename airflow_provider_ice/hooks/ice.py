"""IceHook: the ICE (Intelligent Media Services) AI-workflow API from an Airflow connection.

Nothing heavy happens at import: the ICE SDK (~0.45 s to import) and the async transport load on
first use, so DAG files that import sensors and operators stay cheap to parse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_ice.exceptions import INVALID_RESPONSE, IceApiError, IceConfigurationError
from airflow_provider_ice.params import encode_json_param, require_id

if TYPE_CHECKING:
    from alibabacloud_ice20201109.client import Client as IceClient

    from airflow_provider_ice.hooks.connection_config import IceConnectionConfig
    from airflow_provider_ice.hooks.transport import AsyncIceTransport
    from airflow_provider_ice.models import IceWorkflowTask

# Connection parsing and the retry policy load on first use: DAG files import this module too.

__all__ = ["IceHook"]

T = TypeVar("T")

#: Codes meaning "the service did not accept who we are / where we called": test_connection fails.
_AUTH_CODE_PREFIXES = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken",
    "Forbidden",
    "InvalidAction",
    "InvalidApi",
    "UnsupportedSignature",
)


def _task_from_body(body: dict[str, Any]) -> IceWorkflowTask:
    """GetAIWorkflowTask's JSON answer -> our record, straight from the JSON on both paths."""
    from airflow_provider_ice.models import IceWorkflowTask

    task = body.get("WorkflowTask")
    if not isinstance(task, dict) or not task:
        raise IceApiError(INVALID_RESPONSE, "GetAIWorkflowTask returned no WorkflowTask", retryable=False)
    return IceWorkflowTask.from_api(task)


def _task_id_from(body: dict[str, Any]) -> str:
    """StartAIWorkflow's JSON answer -> the new TaskId."""
    task_id = body.get("TaskId")
    if not task_id:
        raise IceApiError(INVALID_RESPONSE, "StartAIWorkflow returned no TaskId", retryable=False)
    return str(task_id)


class IceHook(BaseHook):
    """Talk to Alibaba Cloud ICE AI workflows.

    :param ice_conn_id: the Airflow connection (type ``alibaba_cloud_ice``).
    :param region_id: overrides the connection's ``region_id`` extra.

    The connection is looked up on first use, never in ``__init__``. Sync methods go through the ICE
    SDK's client; ``a*`` twins go through a shared aiohttp session and never block the event loop.
    Both honour the same proxy settings and trust store. Transient failures are retried per the
    connection's retry settings, StartAIWorkflow only when ICE certainly did not run it; every
    failure surfaces as :class:`~airflow_provider_ice.exceptions.IceApiError`.
    """

    conn_name_attr = "ice_conn_id"
    default_conn_name = "ice_default"
    conn_type = "alibaba_cloud_ice"
    hook_name = "Alibaba Cloud ICE"

    def __init__(self, ice_conn_id: str = default_conn_name, region_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self._config: IceConnectionConfig | None = None
        self._credential: Any = None
        self._transport: AsyncIceTransport | None = None
        self._client: IceClient | None = None

    # ---- connection -------------------------------------------------------------------------

    def _config_from(self, login: str | None, password: str | None, extras: dict[str, Any]) -> IceConnectionConfig:
        from airflow_provider_ice.hooks.connection_config import build_connection_config

        config = build_connection_config(self.ice_conn_id, login, password, extras, region_id=self.region_id)
        if config.protocol == "http":
            self.log.warning(
                "Connection %r uses plain http to %s: only for local servers such as the ICE emulator.",
                self.ice_conn_id,
                config.endpoint,
            )
        return config

    def get_connection_config(self) -> IceConnectionConfig:
        """The validated connection settings (looked up once)."""
        if self._config is None:
            from airflow.providers.common.compat.sdk import mask_secret

            conn = self.get_connection(self.ice_conn_id)
            config = self._config_from(conn.login, conn.password, conn.extra_dejson)
            for secret in config.secrets:
                mask_secret(secret)
            self._config = config
        return self._config

    async def aget_connection_config(self) -> IceConnectionConfig:
        """Like :meth:`get_connection_config`, through Airflow's async connection lookup."""
        if self._config is None:
            from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

            conn = await get_async_connection(self.ice_conn_id, hook=self)
            extras = await get_async_extra_dejson(conn)
            config = self._config_from(conn.login, conn.password, extras)
            await _amask_secrets(config.secrets)
            self._config = config
        return self._config

    def _get_credential(self, config: IceConnectionConfig) -> Any:
        """An ``alibabacloud_credentials`` client for the configured mode (it refreshes expiring ones).

        One per distinct set of credentials in this process, shared by every hook using it: a
        triggerer with a thousand waits on one connection holds one client and refreshes an
        expiring STS/RAM-role credential once, not a thousand times.
        """
        if self._credential is None:
            key = config.credential_key
            with _CREDENTIALS_LOCK:
                if key not in _CREDENTIALS:
                    _CREDENTIALS[key] = _new_credential(config)
                self._credential = _CREDENTIALS[key]
        return self._credential

    @cached_property
    def _runtime(self) -> Any:
        from darabonba.runtime import RuntimeOptions

        config = self.get_connection_config()
        # Timeouts and the CA bundle are on the client's Config; only "verify: false" is per call.
        return RuntimeOptions(ignore_ssl=config.verify is False)

    def get_conn(self) -> IceClient:
        """The ICE SDK client (built once per hook), with the endpoint set from the region."""
        if self._client is None:
            from alibabacloud_ice20201109.client import Client as IceClient
            from alibabacloud_tea_openapi.utils_models import Config

            from airflow_provider_ice.hooks.network import route_sdk_session, sdk_proxy_settings

            config = self.get_connection_config()
            route_sdk_session(config.protocol, config.endpoint, config.verify)
            self._client = IceClient(
                Config(
                    credential=self._get_credential(config),
                    region_id=config.region_id,
                    endpoint=config.endpoint,
                    protocol=config.protocol,
                    connect_timeout=int(config.connect_timeout * 1000),
                    read_timeout=int(config.read_timeout * 1000),
                    ca=config.verify if isinstance(config.verify, str) else None,
                    user_agent="airflow-provider-ice",
                    **sdk_proxy_settings(config),
                )
            )
        return self._client

    async def _aget_transport(self) -> AsyncIceTransport:
        if self._transport is None:
            from airflow_provider_ice.hooks.transport import AsyncIceTransport

            config = await self.aget_connection_config()
            self._transport = AsyncIceTransport(config, self._get_credential(config))
        return self._transport

    async def aclose(self) -> None:
        """Release this hook's share of the async connection pool (the last user closes it)."""
        if self._transport is not None:
            await self._transport.close()

    async def __aenter__(self) -> IceHook:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- calls ------------------------------------------------------------------------------

    def _call(self, action: str, fn: Callable[[IceClient, Any], T], *, retries: bool = True) -> T:
        client = self.get_conn()
        runtime = self._runtime
        config = self.get_connection_config()

        def attempt() -> T:
            from airflow_provider_ice.hooks.errors import error_from_sdk
            from airflow_provider_ice.hooks.network import proxy_for

            try:
                return fn(client, runtime)
            except IceApiError:
                raise
            except Exception as exc:
                raise error_from_sdk(exc, action, config.address, proxy_for(config)) from None

        if not retries:
            return attempt()
        from airflow_provider_ice.hooks.retry import call_with_retries

        return call_with_retries(action, config.retry, attempt)

    async def _acall(self, action: str, query: dict[str, str]) -> dict[str, Any]:
        from airflow_provider_ice.hooks.retry import acall_with_retries

        transport = await self._aget_transport()
        config = await self.aget_connection_config()
        return await acall_with_retries(action, config.retry, lambda: transport.call(action, query))

    def get_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """GetAIWorkflowTask: the task's status, outputs and node results."""
        from alibabacloud_ice20201109.models import GetAIWorkflowTaskRequest

        request = GetAIWorkflowTaskRequest(task_id=require_id("workflow_task_id", workflow_task_id))
        response = self._call("GetAIWorkflowTask", lambda c, rt: c.get_aiworkflow_task_with_options(request, rt))
        return _task_from_body(response.body.to_map())

    async def aget_workflow_task(self, workflow_task_id: str) -> IceWorkflowTask:
        """Async :meth:`get_workflow_task`."""
        task_id = require_id("workflow_task_id", workflow_task_id)
        body = await self._acall("GetAIWorkflowTask", {"TaskId": task_id})
        return _task_from_body(body)

    @staticmethod
    def _start_query(workflow_id: str, inputs: Any, user_data: Any, dispatch_tag: str | None) -> dict[str, str]:
        query = {"WorkflowId": require_id("workflow_id", workflow_id)}
        for key, value in (
            ("Inputs", encode_json_param("inputs", inputs)),
            ("UserData", encode_json_param("user_data", user_data)),
            ("DispatchTag", dispatch_tag or None),
        ):
            if value is not None:
                query[key] = value
        return query

    def start_ai_workflow(
        self,
        workflow_id: str,
        inputs: dict[str, Any] | list[Any] | str | None = None,
        user_data: dict[str, Any] | list[Any] | str | None = None,
        dispatch_tag: str | None = None,
    ) -> str:
        """StartAIWorkflow from a workflow template; returns the new task's id (TaskId)."""
        from alibabacloud_ice20201109.models import StartAIWorkflowRequest

        query = self._start_query(workflow_id, inputs, user_data, dispatch_tag)
        request = StartAIWorkflowRequest(
            workflow_id=query["WorkflowId"],
            inputs=query.get("Inputs"),
            user_data=query.get("UserData"),
            dispatch_tag=query.get("DispatchTag"),
        )
        try:
            response = self._call("StartAIWorkflow", lambda c, rt: c.start_aiworkflow_with_options(request, rt))
        except IceApiError as exc:
            raise _unsure_start(exc, query) from None
        return _task_id_from(response.body.to_map())

    async def astart_ai_workflow(
        self,
        workflow_id: str,
        inputs: dict[str, Any] | list[Any] | str | None = None,
        user_data: dict[str, Any] | list[Any] | str | None = None,
        dispatch_tag: str | None = None,
    ) -> str:
        """Async :meth:`start_ai_workflow`."""
        query = self._start_query(workflow_id, inputs, user_data, dispatch_tag)
        try:
            body = await self._acall("StartAIWorkflow", query)
        except IceApiError as exc:
            raise _unsure_start(exc, query) from None
        return _task_id_from(body)

    def stop_ai_workflow_task(self, workflow_task_id: str) -> None:
        """StopAIWorkflowTask. ICE documents stopping for real-time (live/RTC) tasks only."""
        from alibabacloud_ice20201109.models import StopAIWorkflowTaskRequest

        request = StopAIWorkflowTaskRequest(task_id=require_id("workflow_task_id", workflow_task_id))
        self._call("StopAIWorkflowTask", lambda c, rt: c.stop_aiworkflow_task_with_options(request, rt))

    async def astop_ai_workflow_task(self, workflow_task_id: str) -> None:
        """Async :meth:`stop_ai_workflow_task`."""
        await self._acall("StopAIWorkflowTask", {"TaskId": require_id("workflow_task_id", workflow_task_id)})

    def test_connection(self) -> tuple[bool, str]:
        """One real call (GetAIWorkflowTask on a task id that does not exist).

        Any answer past authentication, "no such task" included, proves credentials and endpoint.
        """
        try:
            self.get_connection_config()
            self._call(
                "GetAIWorkflowTask",
                lambda c, rt: c.get_aiworkflow_task_with_options(_probe_request(), rt),
                retries=False,
            )
        except IceConfigurationError as exc:
            return False, str(exc)
        except IceApiError as exc:
            if exc.code.startswith(_AUTH_CODE_PREFIXES):
                return False, f"rejected: {exc.code}: {exc.message}"
            if exc.status_code is None or exc.retryable:
                return False, f"unreachable: {exc}"
        return True, "credentials/endpoint OK"

    # ---- connection form (Airflow < 3.2; newer versions read conn-fields from provider info) -----

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_ice.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import PasswordField, StringField

        from airflow_provider_ice.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            secret = spec["schema"].get("format") == "password"
            field_class = PasswordField if secret else StringField
            widget = BS3PasswordFieldWidget() if secret else BS3TextFieldWidget()
            widgets[name] = field_class(lazy_gettext(spec["label"]), widget=widget, description=spec.get("description"))
        return widgets


def _unsure_start(error: IceApiError, query: dict[str, str]) -> IceApiError:
    """A StartAIWorkflow failure that may have created a task says so, and is not repeated by anyone."""
    if not error.may_have_run:
        return error
    user_data = query.get("UserData")
    find = f"with UserData {user_data}" if user_data else "(no UserData was set: set user_data to tell tasks apart)"
    return IceApiError(
        error.code,
        f"{error.message}. StartAIWorkflow may have created a task from workflow {query['WorkflowId']} "
        f"{find}; it was not sent again, to avoid a second billed task. Check the ICE console before retrying.",
        status_code=error.status_code,
        request_id=error.request_id,
        retryable=False,
        may_have_run=True,
    )


async def _amask_secrets(secrets: tuple[str, ...]) -> None:
    """Register secrets with the masker without a blocking call to the supervisor on the event loop."""
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:  # Airflow < 3.3: the masker is local to this process, nothing to wait on
        from airflow.providers.common.compat.sdk import mask_secret

        for secret in secrets:
            mask_secret(secret)
        return
    for secret in secrets:
        await amask_secret(secret)


_CREDENTIALS: dict[tuple[Any, ...], Any] = {}
_CREDENTIALS_LOCK = threading.Lock()


def _new_credential(config: IceConnectionConfig) -> Any:
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.models import Config as CredentialConfig

    if config.credential_type == "default":
        return CredentialClient()
    return CredentialClient(
        CredentialConfig(
            type=config.credential_type,
            access_key_id=config.access_key_id,
            access_key_secret=config.access_key_secret,
            security_token=config.security_token,
            role_arn=config.role_arn,
            role_session_name=config.role_session_name or "airflow-provider-ice",
            role_name=config.role_name,
            oidc_provider_arn=config.oidc_provider_arn,
            oidc_token_file_path=config.oidc_token_file_path,
        )
    )


def _probe_request() -> Any:
    from alibabacloud_ice20201109.models import GetAIWorkflowTaskRequest

    return GetAIWorkflowTaskRequest(task_id="airflow-connection-test")
