"""The async sender: signed requests (:mod:`.request`) through an aiohttp session shared per
endpoint settings and event loop.

The SDK's own ``*_async`` path opens a new aiohttp session, connector and SSL context (loading the
CA bundle) per request on the event loop and retries with blocking ``time.sleep``. Here one
``ClientSession`` serves every hook and trigger of the same endpoint settings in an event loop:
keep-alive, a bounded pool, the proxy (environment or extras) and trust store of :mod:`.network`,
redirects not followed. Imported lazily: it pulls in aiohttp.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import aiohttp
from yarl import URL

from airflow_provider_ice.client.config import IceConnectionConfig
from airflow_provider_ice.client.network import proxy_for, ssl_context
from airflow_provider_ice.client.request import Answer, IceRequest

#: Bounded: a thousand triggers need a few dozen keep-alive connections, not a thousand TLS
#: handshakes (CPU on the event loop) and socket buffers (memory).
POOL_CONNECTIONS = 32


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
        # connect bounds the pool wait plus the connection and its TLS handshake (a ConnectionTimeoutError,
        # which proves nothing was sent); sock_read the wait for the answer, as requests' read timeout
        # does; total, the sum, is a backstop that never fires before either (a plain TimeoutError
        # says nothing of the phase).
        timeout=aiohttp.ClientTimeout(
            total=config.connect_timeout + config.read_timeout,
            connect=config.connect_timeout,
            sock_connect=config.connect_timeout,
            sock_read=config.read_timeout,
        ),
        # The proxy is network.proxy_for's, passed with each request. It reads the same variables with
        # the same matcher as aiohttp's trust_env, which instead costs two thread round trips per
        # request (a netrc file read and a proxy lookup) and, should ~/.netrc name
        # the ICE host, adds an Authorization that clashes with the signature.
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        # aiohttp gives an empty POST "Content-Type: application/octet-stream"; the SDK sends none.
        skip_auto_headers=("Content-Type",),
    )


class AsyncSender:
    """Sends signed ICE requests through an aiohttp session shared per endpoint settings and loop.

    The session is reference-counted: a sender joins it on its first send (the first one opens
    it) and leaves on :meth:`close` (the last one closes it).
    """

    def __init__(self, config: IceConnectionConfig) -> None:
        self._config = config
        self._proxy = proxy_for(config)
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
        tls: Any = False
        if self._open_shared(loop) is None and self._config.protocol == "https":
            # A new session needs the TLS context: loading CA bundles reads files, off the event loop.
            tls = await asyncio.to_thread(ssl_context, self._config.verify)
        # No await below: joining or creating the shared session is atomic on the loop.
        return self._reusable(loop) or self._join(loop, tls)

    def _open_shared(self, loop: asyncio.AbstractEventLoop) -> _SharedSession | None:
        shared = _SESSIONS.get(loop, {}).get(self._key)
        return shared if shared is not None and not shared.session.closed else None

    def _join(self, loop: asyncio.AbstractEventLoop, tls: Any) -> aiohttp.ClientSession:
        self._release()
        shared = self._open_shared(loop)
        if shared is None:
            if tls is False and self._config.protocol == "https":  # another sender closed it meanwhile
                tls = ssl_context(self._config.verify)  # built already by that sender: no file read
            shared = _SESSIONS.setdefault(loop, {})[self._key] = _SharedSession(_new_session(self._config, tls))
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

    async def send(self, request: IceRequest) -> Answer:
        """One request: the answer's status, headers and body; a transport failure raises
        :class:`~airflow_provider_ice.exceptions.IceTransportError`."""
        session = self._reusable(asyncio.get_running_loop()) or await self._aopen()
        try:
            # encoded=True: the query goes out exactly as it was signed.
            async with session.post(
                URL(request.url, encoded=True),
                data=request.body or None,
                headers=request.headers,
                proxy=self._proxy,
                allow_redirects=False,
            ) as response:
                return response.status, response.headers, await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            from airflow_provider_ice.client.failures import aiohttp_phase, transport_error

            phase = aiohttp_phase(exc)
            raise transport_error(
                exc, request.action, self._config.address, self._proxy, phase, self._config.protocol
            ) from None
