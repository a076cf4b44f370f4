"""The async transport: the SDK's V3 signing over one shared keep-alive connection pool.

The SDK's own ``*_async`` path opens a new aiohttp session, connector and SSL context (loading the
CA bundle) per request on the event loop and retries with blocking ``time.sleep``. Here a request is
built and signed with the SDK's OpenAPI utilities (same headers, same ``ACS3-HMAC-SHA256``
signature), sent through a pool (:mod:`.http11`) shared by every user of the same endpoint in this
event loop, and answered with the SDK's error codes. Imported lazily: it pulls in the tea-openapi
utilities.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from alibabacloud_tea_openapi.utils import Utils

from airflow_provider_ice.exceptions import CONNECTION_ERROR, INVALID_RESPONSE, TIMEOUT, IceApiError
from airflow_provider_ice.hooks.connection_config import IceConnectionConfig
from airflow_provider_ice.hooks.http11 import KeepAlivePool
from airflow_provider_ice.hooks.retry import api_error

API_VERSION = "2020-11-09"
SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256"
_EMPTY_PAYLOAD_HASH = Utils.hash(b"", SIGNATURE_ALGORITHM).hex()
USER_AGENT = Utils.get_user_agent("airflow-provider-ice")
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


def error_from_response(status: int, headers: Any, body: bytes) -> IceApiError:
    """Map an HTTP error response to our exception, as the SDK would read it."""
    retry_after_ms = Utils.get_throttling_time_left(dict(headers))
    try:
        err = json.loads(body)
        if not isinstance(err, dict):
            raise ValueError
    except ValueError:
        # A gateway's HTML page, not an Alibaba Cloud error body: transient.
        return IceApiError(
            INVALID_RESPONSE,
            f"HTTP {status} with a non-JSON body: {body[:120]!r}",
            status_code=status,
            retryable=True,
        )
    return api_error(
        err.get("Code") or err.get("code"),
        err.get("Message") or err.get("message"),
        status_code=status,
        request_id=err.get("RequestId") or err.get("requestId"),
        retry_after=retry_after_ms / 1000 if retry_after_ms else None,
    )


class _SharedSession:
    def __init__(self, session: KeepAlivePool) -> None:
        self.session = session
        self.users = 0


# One pool per (event loop, endpoint, TLS and timeout settings). Weak on the loop: a finished
# loop (dag.test() runs each trigger in its own) takes its entries with it.
_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _SharedSession]] = (
    weakref.WeakKeyDictionary()
)


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:  # "verify": false, for testing only
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=None if verify is True else verify)


# SSL contexts are safe to share across loops; one per ``verify`` setting in the process.
_SSL_CONTEXTS: dict[bool | str, ssl.SSLContext] = {}


async def _assl_context(verify: bool | str) -> ssl.SSLContext:
    """The context for ``verify``, built once per process in a worker thread: loading a CA bundle
    reads and parses a file, which must not stall the event loop."""
    context = _SSL_CONTEXTS.get(verify)
    if context is None:
        context = _SSL_CONTEXTS.setdefault(verify, await asyncio.to_thread(_ssl_context, verify))
    return context


class AsyncIceTransport:
    """Sends signed ICE RPC calls over a keep-alive pool shared per endpoint in this event loop.

    The pool is reference-counted: a transport joins it on its first call (the first one opens it)
    and leaves on :meth:`close` (the last one closes it).
    """

    def __init__(self, config: IceConnectionConfig, credential: Any) -> None:
        self._config = config
        self._credential = credential
        self._key = (config.protocol, config.endpoint, config.verify, config.connect_timeout, config.read_timeout)
        self._shared: _SharedSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _reusable(self, loop: asyncio.AbstractEventLoop) -> KeepAlivePool | None:
        if self._shared is not None and self._loop is loop and not self._shared.session.closed:
            return self._shared.session
        return None

    async def _aopen(self) -> KeepAlivePool:
        loop = asyncio.get_running_loop()
        session = self._reusable(loop)
        if session is not None:
            return session
        tls = await _assl_context(self._config.verify) if self._config.protocol == "https" else None
        # No await below: joining or creating the shared pool is atomic on the loop.
        return self._reusable(loop) or self._open(loop, tls)

    def _open(self, loop: asyncio.AbstractEventLoop, tls: ssl.SSLContext | None) -> KeepAlivePool:
        self._release()
        pools = _POOLS.setdefault(loop, {})
        shared = pools.get(self._key)
        if shared is None or shared.session.closed:
            config = self._config
            address = urlsplit(f"//{config.endpoint}")
            session = KeepAlivePool(
                address.hostname or config.endpoint,
                address.port or (443 if config.protocol == "https" else 80),
                tls,
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                # Bounded: a thousand triggers need a few dozen keep-alive connections, not a thousand
                # TLS handshakes (CPU on the event loop) and socket buffers (memory).
                limit=POOL_CONNECTIONS,
            )
            shared = pools[self._key] = _SharedSession(session)
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
            pools = _POOLS.get(self._loop, {})
            if pools.get(self._key) is shared:
                del pools[self._key]
        return shared

    async def close(self) -> None:
        """Drop this user's share of the pool; the last one out closes the connections."""
        shared = self._release()
        if shared is not None and not shared.session.closed:
            await shared.session.close()

    async def call(self, action: str, query: dict[str, str]) -> dict[str, Any]:
        """One attempt: send ``action`` and return the decoded JSON body, or raise :class:`IceApiError`."""
        session = self._reusable(asyncio.get_running_loop()) or await self._aopen()
        credential = await self._credential.get_credential_async()
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
            # The query goes out exactly as it was signed.
            status, response_headers, body = await session.post(path, headers)
        except TimeoutError as exc:
            raise IceApiError(TIMEOUT, f"{action} timed out: {exc!r}", retryable=True) from None
        except OSError as exc:
            raise IceApiError(CONNECTION_ERROR, f"{action}: {exc!r}", retryable=True) from None
        if status >= 400:
            raise error_from_response(status, response_headers, body)
        try:
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError
        except ValueError:
            raise IceApiError(
                INVALID_RESPONSE,
                f"{action}: HTTP {status} with a non-JSON body: {body[:120]!r}",
                status_code=status,
                retryable=True,
            ) from None
        return decoded
