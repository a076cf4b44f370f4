"""The async transport: requests signed by the SDK's V3 signer, sent through a shared aiohttp session.

The SDK's own ``*_async`` path opens a new aiohttp session, connector and SSL context (loading the
CA bundle) per request on the event loop and retries with blocking ``time.sleep``. Here one
``ClientSession`` serves every hook and trigger of the same endpoint settings in an event loop:
keep-alive, a bounded pool, the proxy (environment or extras) and trust store of :mod:`.network`,
redirects not followed. Imported lazily: it pulls in aiohttp and the tea-openapi utilities.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from alibabacloud_tea_openapi.utils import Utils
from yarl import URL

from airflow_provider_ice.client.config import CLIENT_NAME, IceConnectionConfig
from airflow_provider_ice.client.errors import (
    error_from_credentials,
    error_from_response,
    error_from_transport,
    invalid_body,
)
from airflow_provider_ice.client.network import cached_ssl_context, proxy_for, ssl_context

API_VERSION = "2020-11-09"
SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256"
_EMPTY_PAYLOAD_HASH = Utils.hash(b"", SIGNATURE_ALGORITHM).hex()
USER_AGENT = Utils.get_user_agent(CLIENT_NAME)
#: Bounded: a thousand triggers need a few dozen keep-alive connections, not a thousand TLS
#: handshakes (CPU on the event loop) and socket buffers (memory).
POOL_CONNECTIONS = 32


@dataclass
class _SignedRequest:
    """Duck-types the SDK's DaraRequest for ``Utils.get_authorization``."""

    method: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str]


def sign_request(
    endpoint: str,
    action: str,
    query: dict[str, str],
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None = None,
    provider_name: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Return (path and query string, headers) of a signed RPC request, as the SDK builds them."""
    headers = {
        "host": endpoint,
        "x-acs-version": API_VERSION,
        "x-acs-action": action,
        "user-agent": USER_AGENT,
        "x-acs-date": Utils.get_timestamp(),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "accept": "application/json",
        "x-acs-content-sha256": _EMPTY_PAYLOAD_HASH,
    }
    if provider_name:
        headers["x-acs-credentials-provider"] = provider_name
    if security_token:
        headers["x-acs-accesskey-id"] = access_key_id
        headers["x-acs-security-token"] = security_token
    request = _SignedRequest("POST", "/", query, headers)
    headers["Authorization"] = Utils.get_authorization(
        request, SIGNATURE_ALGORITHM, _EMPTY_PAYLOAD_HASH, access_key_id, access_key_secret
    )
    return "/?" + urlencode(query) if query else "/", headers


class _SharedSession:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.users = 0


# One session per (event loop, endpoint settings). Weak on the loop: a finished loop (dag.test()
# runs each trigger in its own) takes its entries with it.
_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _SharedSession]] = (
    weakref.WeakKeyDictionary()
)


def _new_session(config: IceConnectionConfig, tls: Any) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=POOL_CONNECTIONS, ssl=tls),
        # total bounds one attempt (pool wait, connect, answer); connect bounds the pool wait plus the
        # connection (a ConnectionTimeoutError, which proves nothing was sent); sock_connect one socket.
        timeout=aiohttp.ClientTimeout(
            total=config.read_timeout, connect=config.connect_timeout, sock_connect=config.connect_timeout
        ),
        # The proxy is network.proxy_for's, passed with each request. It reads the same variables with
        # the same matcher as aiohttp's trust_env, which instead costs two thread round trips per
        # request (a netrc file read and a proxy lookup: +1 ms CPU a poll) and, should ~/.netrc name
        # the ICE host, adds an Authorization that clashes with the signature.
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class AsyncIceTransport:
    """Sends signed ICE RPC calls through an aiohttp session shared per endpoint settings and loop.

    The session is reference-counted: a transport joins it on its first call (the first one opens
    it) and leaves on :meth:`close` (the last one closes it).
    """

    def __init__(self, config: IceConnectionConfig, credential: Any) -> None:
        self._config = config
        self._credential = credential
        self._proxy = proxy_for(config)
        self._url = f"{config.protocol}://{config.endpoint}"
        self._key = (
            config.protocol,
            config.endpoint,
            config.verify,
            config.connect_timeout,
            config.read_timeout,
            config.proxy,
            config.no_proxy,
        )
        self._shared: _SharedSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _reusable(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession | None:
        if self._shared is not None and self._loop is loop and not self._shared.session.closed:
            return self._shared.session
        return None

    async def _aopen(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._reusable(loop)
        if session is not None:
            return session
        # Loading CA bundles reads files: off the event loop, once per process.
        tls: Any = False
        if self._config.protocol == "https":
            verify = self._config.verify
            tls = cached_ssl_context(verify) or await asyncio.to_thread(ssl_context, verify)
        # No await below: joining or creating the shared session is atomic on the loop.
        return self._reusable(loop) or self._join(loop, tls)

    def _join(self, loop: asyncio.AbstractEventLoop, tls: Any) -> aiohttp.ClientSession:
        self._release()
        sessions = _SESSIONS.setdefault(loop, {})
        shared = sessions.get(self._key)
        if shared is None or shared.session.closed:
            shared = sessions[self._key] = _SharedSession(_new_session(self._config, tls))
        shared.users += 1
        self._shared, self._loop = shared, loop
        return shared.session

    def _release(self) -> _SharedSession | None:
        shared, self._shared = self._shared, None
        if shared is None:
            return None
        shared.users -= 1
        if shared.users > 0:
            return None
        if self._loop is not None:
            sessions = _SESSIONS.get(self._loop, {})
            if sessions.get(self._key) is shared:
                del sessions[self._key]
        return shared

    async def close(self) -> None:
        """Drop this user's share of the session; the last one out closes it."""
        shared = self._release()
        if shared is not None and not shared.session.closed:
            await shared.session.close()

    async def call(self, action: str, query: dict[str, str]) -> dict[str, Any]:
        """One attempt: send ``action`` and return the decoded JSON body, or raise :class:`IceApiError`."""
        session = self._reusable(asyncio.get_running_loop()) or await self._aopen()
        try:
            credential = await self._credential.get_credential_async()
        except Exception as exc:
            raise error_from_credentials(exc, action, self._config.credential_type) from None
        path, headers = sign_request(
            self._config.endpoint,
            action,
            query,
            credential.access_key_id,
            credential.access_key_secret,
            credential.security_token,
            credential.provider_name,
        )
        try:
            # encoded=True: the query goes out exactly as it was signed.
            async with session.post(
                URL(self._url + path, encoded=True), headers=headers, proxy=self._proxy, allow_redirects=False
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise error_from_transport(exc, action, self._config.address, self._proxy) from None
        if status >= 300:
            raise error_from_response(action, status, response.headers, body, path)
        try:
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError
        except ValueError:
            raise invalid_body(action, status, body) from None
        return decoded
