"""Where a call goes and whom it trusts, decided once for both paths: the proxy and the TLS trust store.

Proxy: the connection's ``proxy`` extra, else ``HTTPS_PROXY``/``HTTP_PROXY`` (by the endpoint's
protocol; either case, lower case first, as urllib and aiohttp read them); ``NO_PROXY`` (or the
``no_proxy`` extra, which overrides it) exempts the endpoint. Trust store, for ``verify: true``: the
system's CAs plus certifi's Mozilla bundle, exactly what the SDK's sync path trusts; a ``verify``
path adds that bundle. (How the SDK's own session is made to follow the decision: :mod:`.sdk`.)
"""

from __future__ import annotations

import os
import ssl
import threading
import urllib.request
from functools import lru_cache

from airflow_provider_ice.client.config import IceConnectionConfig

#: The environment variables :func:`urllib.request.getproxies_environment` answers ``proxy_for`` from.
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD")


def proxy_for(config: IceConnectionConfig) -> str | None:
    """The proxy URL for calls to ``config``'s endpoint, or None for a direct connection."""
    env = _environment_proxies(tuple(os.environ.get(name) for name in _PROXY_VARIABLES))
    proxy = config.proxy or env.get(config.protocol)
    no_proxy = config.no_proxy if config.no_proxy is not None else env.get("no", "")
    # proxy_bypass_environment is the NO_PROXY matcher urllib (and aiohttp's trust_env) use; untyped.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not proxy or (no_proxy and bypass(config.endpoint, {"no": no_proxy})):
        return None
    return proxy


@lru_cache(maxsize=8)
def _environment_proxies(values: tuple[str | None, ...]) -> dict[str, str]:
    """urllib's reading of the environment's proxies, once for each set of ``values`` of
    :data:`_PROXY_VARIABLES`: it walks the whole environment, which a triggerer starting a thousand
    waits would do a thousand times (never mutated)."""
    return urllib.request.getproxies_environment()


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
