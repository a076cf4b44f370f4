"""IceHookBase: an ICE connection's settings, credentials and senders, and one call of an action
on either path. :class:`~airflow_provider_ice.hooks.ice.IceHook` adds ICE's actions on top.

Nothing heavy happens at import: the client stack (``airflow_provider_ice.client``: requests,
aiohttp, the SDK's signer; the ICE SDK itself only for ``get_conn``) loads on first use.
"""

from __future__ import annotations

import asyncio
import json
import sys
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Self

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_ice import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_ice.client.async_sender import AsyncSender
    from airflow_provider_ice.client.config import IceConnectionConfig
    from airflow_provider_ice.client.request import Query
    from airflow_provider_ice.client.sync_sender import SyncSender


class IceHookBase(BaseHook):
    """The connection side of :class:`~airflow_provider_ice.hooks.ice.IceHook` (see there).

    :param ice_conn_id: the Airflow connection (type ``alibaba_cloud_ice``); default ``ice_default``.
    :param region_id: the ICE region instead of the connection's ``region_id`` extra; default None.
    """

    def __init__(self, ice_conn_id: str = DEFAULT_CONN_ID, region_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self._config: IceConnectionConfig | None = None
        self._credential: Any = None
        self._sdk: Any = None
        self._sync: SyncSender | None = None
        self._async: AsyncSender | None = None
        # The last job polled and its encoded query (a wait polls one job: no dict per hook).
        self._poll_key: tuple[str, str] | None = None
        self._poll_query: Query | None = None

    # ---- connection -------------------------------------------------------------------------

    def _config_from(self, login: str | None, password: str | None, extras: dict[str, Any]) -> IceConnectionConfig:
        try:
            key = json.dumps(extras, sort_keys=True)
        except (TypeError, ValueError):  # not plain JSON: built for this hook alone
            config = _build_config(self.ice_conn_id, login, password, extras, self.region_id)
        else:
            config = _shared_config(self.ice_conn_id, login, password, key, self.region_id)
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- one call of an action, on either path ----------------------------------------------

    def _call(self, action: str, query: dict[str, str] | Query) -> dict[str, Any]:
        calls = _calls()
        config = self.get_connection_config()
        credential, send = self._get_credential(config), self._sync_sender().send
        return calls.call(config, credential, send, action, calls.Query.of(query, action), self.ice_conn_id)

    async def _acall(self, action: str, query: dict[str, str] | Query) -> dict[str, Any]:
        sender = await self._aget_sender()  # first: it loads the client stack off the event loop
        calls = _calls()
        config = await self.aget_connection_config()
        credential = self._get_credential(config)
        return await calls.acall(
            config, credential, sender.send, action, calls.Query.of(query, action), self.ice_conn_id
        )


def _build_config(
    conn_id: str, login: str | None, password: str | None, extras: dict[str, Any], region_id: str | None
) -> IceConnectionConfig:
    from airflow_provider_ice.client.config import build_connection_config

    return build_connection_config(conn_id, login, password, extras, region_id=region_id)


@lru_cache(maxsize=64)
def _shared_config(
    conn_id: str, login: str | None, password: str | None, extras: str, region_id: str | None
) -> IceConnectionConfig:
    """One config (immutable) for the hooks of a connection whose fields are the same: a triggerer's
    thousand waits on one connection hold one, not a thousand. Keyed by every field the config is
    built from, so a changed connection (a rotated secret or token) gets a config of its own."""
    return _build_config(conn_id, login, password, json.loads(extras), region_id)


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
