"""Failures without an ICE answer, mapped by exception *type*: one table per library (ssl and
socket, aiohttp, requests, urllib3), as httpx maps httpcore's exceptions.

Each type maps to a :class:`Cause`, which decides the error's code, whether it is retried and
whether ICE may have run the request. The whole chain of an exception is read (causes, contexts,
``reason``/``os_error`` of the libraries' wrappers): ``requests.ConnectionError`` wraps both a
refused connection and a dropped one, and only what it wraps tells them apart. When the chain holds
several causes, the most specific one (first in :class:`Cause`) decides. A type in no table gets
the safe default, :attr:`Cause.LOST` (may have run: a StartAIWorkflow is never sent again); the
types of these libraries left to it on purpose are listed in :data:`LEFT_TO_DEFAULT`, and a test
fails on any exported type that is in neither, so a library upgrade cannot add one unnoticed.
Imported only on a failure of the sync or async sender.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from enum import Enum

import aiohttp
import requests.exceptions as rq
import urllib3.exceptions as u3

from airflow_provider_ice.exceptions import (
    CONNECT_TIMEOUT,
    CONNECTION_FAILED,
    CONNECTION_LOST,
    PROXY_REFUSED,
    READ_TIMEOUT,
    TLS_FAILED,
    UNTRUSTED_CERTIFICATE,
    IceTransportError,
)


class Cause(Enum):
    """Why nothing usable came back, most specific first: (name, code, retryable, may_have_run).

    Connect-phase failures (DNS, refused, connect timeout, TLS handshake, proxy) prove the request
    never reached ICE; anything later (read timeout, a dropped connection) may have run.
    """

    CERTIFICATE = ("certificate", UNTRUSTED_CERTIFICATE, False, False)
    PROXY = ("proxy", PROXY_REFUSED, True, False)
    TLS = ("tls", TLS_FAILED, True, False)
    DNS = ("dns", CONNECTION_FAILED, True, False)
    CONNECT_TIMEOUT = ("connect timeout", CONNECT_TIMEOUT, True, False)
    REFUSED = ("refused", CONNECTION_FAILED, True, False)
    CONNECT_FAILED = ("connect failed", CONNECTION_FAILED, True, False)
    READ_TIMEOUT = ("read timeout", READ_TIMEOUT, True, True)
    LOST = ("lost", CONNECTION_LOST, True, True)


SSL_AND_SOCKET: dict[type[BaseException], Cause] = {
    ssl.SSLCertVerificationError: Cause.CERTIFICATE,
    ssl.SSLError: Cause.TLS,
    socket.gaierror: Cause.DNS,
    ConnectionRefusedError: Cause.REFUSED,
    TimeoutError: Cause.READ_TIMEOUT,  # asyncio's too (3.11+): a timeout of unknown phase may have run
    ConnectionError: Cause.LOST,
}

AIOHTTP: dict[type[BaseException], Cause] = {
    aiohttp.ClientConnectorCertificateError: Cause.CERTIFICATE,
    aiohttp.ClientHttpProxyError: Cause.PROXY,
    aiohttp.ClientProxyConnectionError: Cause.PROXY,
    aiohttp.ClientConnectorSSLError: Cause.TLS,
    aiohttp.ClientSSLError: Cause.TLS,
    aiohttp.ClientConnectorDNSError: Cause.DNS,
    # connect timeout bounds the wait for a pooled connection too: nothing was sent
    aiohttp.ConnectionTimeoutError: Cause.CONNECT_TIMEOUT,
    aiohttp.ClientConnectorError: Cause.CONNECT_FAILED,
    aiohttp.SocketTimeoutError: Cause.READ_TIMEOUT,
    aiohttp.ServerTimeoutError: Cause.READ_TIMEOUT,
    aiohttp.ServerDisconnectedError: Cause.LOST,
    aiohttp.ClientPayloadError: Cause.LOST,
    aiohttp.ClientConnectionResetError: Cause.LOST,
    aiohttp.ClientOSError: Cause.LOST,
    aiohttp.ServerConnectionError: Cause.LOST,
    aiohttp.ClientConnectionError: Cause.LOST,
}

REQUESTS: dict[type[BaseException], Cause] = {
    rq.ProxyError: Cause.PROXY,
    rq.SSLError: Cause.TLS,
    rq.ConnectTimeout: Cause.CONNECT_TIMEOUT,
    rq.ReadTimeout: Cause.READ_TIMEOUT,
    rq.Timeout: Cause.READ_TIMEOUT,
    rq.ChunkedEncodingError: Cause.LOST,
    rq.ConnectionError: Cause.LOST,  # refused or dropped: what it wraps decides
}

URLLIB3: dict[type[BaseException], Cause] = {
    u3.ProxyError: Cause.PROXY,
    u3.SSLError: Cause.TLS,
    u3.NameResolutionError: Cause.DNS,
    u3.NewConnectionError: Cause.CONNECT_FAILED,  # subclasses ConnectTimeoutError: listed first
    u3.ConnectTimeoutError: Cause.CONNECT_TIMEOUT,
    u3.ReadTimeoutError: Cause.READ_TIMEOUT,
    u3.IncompleteRead: Cause.LOST,
    u3.InvalidChunkLength: Cause.LOST,
    u3.ProtocolError: Cause.LOST,
}

TABLES = (SSL_AND_SOCKET, AIOHTTP, REQUESTS, URLLIB3)
_ALL = {cls: cause for table in TABLES for cls, cause in table.items()}
_ORDER = list(Cause)

#: Exported exception types of the libraries left to the safe default (LOST), reviewed: none can
#: come from one of our requests with a different meaning (we follow no redirect, decode no body
#: through the library, open no websocket, build URLs from validated settings).
LEFT_TO_DEFAULT: frozenset[type[BaseException]] = frozenset(
    {
        aiohttp.ClientError,
        aiohttp.ClientResponseError,
        aiohttp.ContentTypeError,
        aiohttp.InvalidURL,
        aiohttp.InvalidUrlClientError,
        aiohttp.InvalidUrlRedirectClientError,
        aiohttp.NonHttpUrlClientError,
        aiohttp.NonHttpUrlRedirectClientError,
        aiohttp.RedirectClientError,
        aiohttp.TooManyRedirects,
        aiohttp.ServerFingerprintMismatch,
        aiohttp.UploadAbortedError,
        aiohttp.EofStream,
        aiohttp.WebSocketError,
        aiohttp.WSServerHandshakeError,
        aiohttp.WSMessageTypeError,
        rq.RequestException,
        rq.HTTPError,
        rq.ContentDecodingError,
        rq.InvalidHeader,
        rq.InvalidJSONError,
        rq.JSONDecodeError,
        rq.InvalidProxyURL,
        rq.InvalidSchema,
        rq.InvalidURL,
        rq.MissingSchema,
        rq.RetryError,
        rq.StreamConsumedError,
        rq.TooManyRedirects,
        rq.URLRequired,
        rq.UnrewindableBodyError,
        u3.HTTPError,
        u3.PoolError,
        u3.RequestError,
        u3.MaxRetryError,  # wraps the real failure (``reason``), which the chain reaches
        u3.HostChangedError,
        u3.ClosedPoolError,
        u3.EmptyPoolError,
        u3.FullPoolError,
        u3.LocationValueError,
        u3.LocationParseError,
        u3.URLSchemeUnknown,
        u3.ResponseError,
        u3.TimeoutError,
        u3.TimeoutStateError,
        u3.DecodeError,
        u3.BodyNotHttplibCompatible,
        u3.UnrewindableBodyError,
        u3.HeaderParsingError,
        u3.ResponseNotChunked,
        u3.ProxySchemeUnknown,
        u3.ProxySchemeUnsupported,
        u3.InvalidHeader,
        u3.ConnectionError,
    }
)


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: the libraries' own links (urllib3's ``reason`` and
    ``original_error``, aiohttp's ``os_error``, the SDK's ``inner_exception``), then causes and contexts."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for name in ("reason", "original_error", "os_error", "inner_exception", "__cause__", "__context__"):
            linked = getattr(current, name, None)
            if isinstance(linked, BaseException):
                todo.append(linked)


def cause_of(exc: BaseException) -> Cause:
    """The most specific cause anywhere in ``exc``'s chain; :attr:`Cause.LOST` if none is known."""
    found = [_lookup(e) for e in chain(exc)]
    known = [c for c in found if c is not None]
    return min(known, key=_ORDER.index) if known else Cause.LOST


def _lookup(exc: BaseException) -> Cause | None:
    for cls in type(exc).__mro__:  # the most derived listed type wins
        if cls in _ALL:
            return _ALL[cls]
    return None


def known_cause(exc: BaseException) -> bool:
    """Whether a table maps ``exc``'s type (a network failure of one of the libraries)."""
    return _lookup(exc) is not None


def transport_error(exc: BaseException, action: str, address: str, proxy: str | None) -> IceTransportError:
    """The error for a request that got no usable answer, by the most specific cause in its chain."""
    cause = cause_of(exc)
    _, code, retryable, may_have_run = cause.value
    errors = list(chain(exc))
    last = scrub(str(errors[-1]) or type(errors[-1]).__name__, proxy)
    via = f" through proxy {redact(proxy)}" if proxy else ""
    hint = None
    if cause is Cause.CERTIFICATE:
        what = f"the TLS certificate of {address} did not verify ({last})"
        hint = "set Verify TLS (verify) to the CA bundle that signed it (or false, for testing only)"
    elif cause is Cause.PROXY:
        what = f"proxy {redact(proxy)} did not open a tunnel to {address} ({last})"
        if _proxy_wants_credentials(errors):
            retryable, hint = False, "the proxy wants credentials: put them in the Proxy URL (proxy)"
    elif cause is Cause.TLS and any(getattr(e, "reason", None) == "WRONG_VERSION_NUMBER" for e in errors):
        what, retryable = f"TLS handshake with {address}{via} failed: the server answers plain http", False
        hint = "set Protocol (protocol) to http"
    else:
        what = {
            Cause.TLS: f"TLS handshake with {address}{via} failed ({last})",
            Cause.DNS: f"unreachable: {address}{via} — name not resolved",
            Cause.CONNECT_TIMEOUT: f"unreachable: {address}{via} — connect timed out",
            Cause.REFUSED: f"unreachable: {address}{via} — connection refused",
            Cause.CONNECT_FAILED: f"unreachable: {address}{via} — connection failed ({last})",
            Cause.READ_TIMEOUT: f"no answer from {address}{via} in time (read timeout)",
        }.get(cause, f"connection to {address}{via} lost ({last})")
    return IceTransportError(code, f"{action}: {what}", retryable=retryable, may_have_run=may_have_run, hint=hint)


def _proxy_wants_credentials(errors: list[BaseException]) -> bool:
    if any(getattr(e, "status", None) == 407 for e in errors if isinstance(e, aiohttp.ClientHttpProxyError)):
        return True
    # requests/urllib3 give a refused CONNECT no status of its own, only the text of the status line.
    return any(" 407 " in f" {e} " for e in errors if isinstance(e, (rq.ProxyError, u3.ProxyError, OSError)))


def redact(url: str | None) -> str:
    """A proxy URL with its password replaced by ``***``."""
    return scrub(url or "", url)


def scrub(text: str, proxy: str | None) -> str:
    """``text`` without the proxy's password (libraries quote the proxy URL in their messages)."""
    from urllib.parse import urlsplit

    password = urlsplit(proxy).password if proxy else None
    return text.replace(password, "***") if password else text
