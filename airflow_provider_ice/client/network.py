"""Where a call goes and whom it trusts, decided once for both paths: the proxy and the TLS trust store.

Proxy: the connection's ``proxy`` extra, else ``HTTPS_PROXY``/``HTTP_PROXY`` (by the endpoint's
protocol; either case, lower case first, as urllib and aiohttp read them); ``NO_PROXY`` (or the
``no_proxy`` extra, which overrides it) exempts the endpoint. Trust store, for ``verify: true``: the
system's CAs plus certifi's Mozilla bundle, exactly what the SDK's sync path trusts; a ``verify``
path adds that bundle.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from typing import Any

from requests.adapters import BaseAdapter

from airflow_provider_ice.client.config import IceConnectionConfig


def proxy_for(config: IceConnectionConfig) -> str | None:
    """The proxy URL for calls to ``config``'s endpoint, or None for a direct connection."""
    env = urllib.request.getproxies_environment()
    proxy = config.proxy or env.get(config.protocol)
    no_proxy = config.no_proxy if config.no_proxy is not None else env.get("no", "")
    # proxy_bypass_environment is the NO_PROXY matcher urllib (and aiohttp's trust_env) use; untyped.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not proxy or (no_proxy and bypass(config.endpoint, {"no": no_proxy})):
        return None
    return proxy


def sdk_proxy_settings(config: IceConnectionConfig) -> dict[str, str | None]:
    """The SDK ``Config`` proxy fields carrying :func:`proxy_for`'s decision.

    Left empty, the SDK falls back to HTTPS_PROXY/HTTP_PROXY itself and ignores NO_PROXY, so a direct
    decision is spelt ``no_proxy="*"``, which :func:`route_sdk_session` makes the SDK's session honour.
    """
    proxy = proxy_for(config)
    if proxy is None:
        return {"http_proxy": None, "https_proxy": None, "no_proxy": "*"}
    return {"http_proxy": proxy, "https_proxy": proxy, "no_proxy": None}


def cached_ssl_context(verify: bool | str) -> ssl.SSLContext | None:
    """The context for ``verify`` if it is built already (no file access: safe on an event loop)."""
    return _SSL_CONTEXTS.get(verify)


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """The client context for ``verify``, built once per process (loading CA bundles reads files:
    call it from a worker thread when on an event loop)."""
    with _SSL_LOCK:
        context = _SSL_CONTEXTS.get(verify)
        if context is None:
            context = _SSL_CONTEXTS[verify] = _new_ssl_context(verify)
        return context


def _new_ssl_context(verify: bool | str) -> ssl.SSLContext:
    import certifi

    context = ssl.create_default_context()
    if verify is False:  # "verify": false, for testing only
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context.load_verify_locations(certifi.where())
    if isinstance(verify, str):
        context.load_verify_locations(verify)
    return context


_SSL_CONTEXTS: dict[bool | str, ssl.SSLContext] = {}
_SSL_LOCK = threading.Lock()


def route_sdk_session(protocol: str, endpoint: str, verify: bool | str) -> None:
    """Fit the SDK's pooled ``requests`` session for this endpoint with :class:`SdkSessionAdapter`.

    The session is darabonba's (keyed as its ``do_action`` keys it); the adapter is mounted for this
    endpoint only, wraps the one darabonba mounted, and is idempotent.
    """
    from darabonba.core import DEFAULT_POOL_MAXSIZE, DaraCore

    key = f"{protocol}://{endpoint}:80:pool={DEFAULT_POOL_MAXSIZE}"
    session = DaraCore._get_session(
        session_key=key, protocol=protocol, verify=verify is not False, pool_size=DEFAULT_POOL_MAXSIZE
    )
    prefix = f"{protocol}://{endpoint}/"
    if not isinstance(session.get_adapter(prefix), SdkSessionAdapter):
        session.mount(prefix, SdkSessionAdapter(session.get_adapter(prefix)))


class SdkSessionAdapter(BaseAdapter):
    """Wraps the SDK's adapter so that the sync path behaves as the async one.

    darabonba hands ``Session.send`` a ``no_proxy`` that requests never reads there: ``"*"`` (our
    "direct" decision) drops every proxy here. ``Session.send`` follows redirects (a POST turned
    into a GET elsewhere), and the SDK reads a proxy's or gateway's HTML error page as "not JSON",
    losing its status: both are raised here as the errors the async path gives.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        if (proxies or {}).get("no_proxy") == "*":
            proxies = {}
        response = self.inner.send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        if response.is_redirect or (response.status_code >= 400 and not _is_json(response.content)):
            from airflow_provider_ice.client.errors import error_from_response

            action = request.headers.get("x-acs-action", "request")
            raise error_from_response(action, response.status_code, response.headers, response.content)
        return response

    def close(self) -> None:
        self.inner.close()


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
