"""The sync sender: signed requests (:mod:`.request`) through a ``requests`` session the hook owns.

The same decisions as the async sender (:mod:`.async_sender`): the proxy of :func:`.network.proxy_for`
(``NO_PROXY`` honoured; the environment is not read again, nor ``~/.netrc``), the trust store of
:func:`.network.ssl_context`, redirects not followed, ``connect_timeout`` and ``read_timeout``.
Imported lazily: it pulls in requests.

requests does not say how far a failed request got, and the exception's type does not either (a TLS
error while reading the answer is the same ``SSLError`` as a failed handshake). The connection
class records it (:class:`_TrackedConnection`), through the pool classes urllib3 lets a pool
manager choose by scheme, and the failure is judged by that phase (:mod:`.failures`).
"""

from __future__ import annotations

import ssl
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import poolmanager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from airflow_provider_ice.client.config import IceConnectionConfig
from airflow_provider_ice.client.network import proxy_for, ssl_context
from airflow_provider_ice.client.request import Answer, IceRequest

#: Keep-alive connections per host: a worker's hook makes one call at a time.
POOL_CONNECTIONS = 4


#: Whether this thread's current request started going out: None until a connection of ours is
#: reached (not known: read as sent), False while connecting, True from its first byte on.
_WRITTEN: ContextVar[bool | None] = ContextVar("ice_request_written", default=None)


class _TrackedConnection(HTTPConnection):
    """Records in :data:`_WRITTEN` how far the request it carries got."""

    def connect(self) -> None:
        _WRITTEN.set(False)  # a proxy's CONNECT tunnel and the TLS handshake happen in here
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is None:
            # Plain HTTP connects lazily, inside the first write (http.client's auto_open): connect
            # first, so that a failure to connect is judged as one.
            self.connect()
        _WRITTEN.set(True)
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(_TrackedConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}


def _track(manager: Any) -> Any:
    """``manager`` (a pool manager or proxy manager) making its pools with our connection class. One
    with pools of its own (SOCKS) keeps them: the phase of its requests is not known, and is read as
    sent (nothing is sent again that may have run)."""
    if manager.pool_classes_by_scheme == poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = _POOL_CLASSES
    return manager


class _TrustStoreAdapter(HTTPAdapter):
    """Verifies TLS with :func:`.network.ssl_context` (the async path's trust store) instead of
    requests' own bundle. Through the adapter hooks requests documents for subclasses."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self._context = context
        super().__init__(pool_connections=1, pool_maxsize=POOL_CONNECTIONS, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._context is not None:
            kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)
        _track(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        if self._context is not None:
            kwargs["ssl_context"] = self._context
        return _track(super().proxy_manager_for(proxy, **kwargs))

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # The CAs are in the context already: set whether to verify, not which bundle to load.
        conn.cert_reqs = "CERT_REQUIRED" if verify else "CERT_NONE"


class SyncSender:
    """Sends signed ICE requests through one ``requests`` session (one per hook)."""

    def __init__(self, config: IceConnectionConfig) -> None:
        self._config = config
        self._proxy = proxy_for(config)
        self._proxies = {"http": self._proxy, "https": self._proxy} if self._proxy else {}
        self._session = requests.Session()
        self._session.trust_env = False  # the proxy is network.proxy_for's decision, made once
        # The request's own headers only, as the SDK sends its prepared requests (no session defaults:
        # no "Connection: keep-alive", no gzip; HTTP/1.1 keeps the connection alive anyway).
        self._session.headers.clear()
        adapter = _TrustStoreAdapter(ssl_context(config.verify) if config.protocol == "https" else None)
        self._session.mount(f"{config.protocol}://", adapter)

    def send(self, request: IceRequest) -> Answer:
        """One request: the answer's status, headers and body; a transport failure raises
        :class:`~airflow_provider_ice.exceptions.IceTransportError`."""
        _WRITTEN.set(None)
        try:
            response = self._session.post(
                request.url,
                data=request.body or None,
                headers=request.headers,
                proxies=self._proxies,
                timeout=(self._config.connect_timeout, self._config.read_timeout),
                allow_redirects=False,
                verify=self._config.verify is not False,
            )
        except (requests.RequestException, OSError) as exc:
            from airflow_provider_ice.client.failures import Phase, transport_error

            phase = Phase.CONNECT if _WRITTEN.get() is False else Phase.SENT
            raise transport_error(
                exc, request.action, self._config.address, self._proxy, phase, self._config.protocol
            ) from None
        return response.status_code, response.headers, response.content

    def close(self) -> None:
        self._session.close()
