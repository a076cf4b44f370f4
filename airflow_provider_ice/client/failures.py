"""Failures without an ICE answer: *whether the request may have reached ICE* decided by the phase
the call failed in, *what happened* by exception type (one table per library: ssl and socket,
aiohttp, requests, urllib3).

The phase decides first, as httpcore's ``map_exceptions`` blocks turn the same ``OSError`` into
``ConnectError``, ``WriteError`` or ``ReadError`` by where it happened: once any byte of the request
may have been written, ICE may have run it, whatever the exception's type. A TLS error raised while
reading the answer is the same ``ssl.SSLError`` (and the same ``requests``/``urllib3`` ``SSLError``) as
a failed handshake; only the phase tells them apart. Each sender says the phase it knows:
:mod:`.sync_sender` tracks it in its connection class, the async sender reads aiohttp's own
connect-phase types (:data:`AIOHTTP_CONNECT_PHASE`). Nothing proves "not sent" but that evidence.

Within a phase, the type decides the error's code, its words and whether it is retried. The whole
chain of an exception is read (causes, contexts, ``reason``/``os_error`` of the libraries'
wrappers): ``requests.ConnectionError`` wraps both a refused connection and a dropped one, and only
what it wraps tells them apart; the most specific cause (first in :class:`Cause`) wins. A type in no
table gets :attr:`Cause.LOST`; a test fails on any exported type of these libraries that is neither
mapped nor reviewed, so a library upgrade cannot add one unnoticed. Imported only on a failure.
"""

from __future__ import annotations

import http.client
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


class Phase(Enum):
    """How far a request got before it failed."""

    #: Connecting (DNS, TCP, a proxy's tunnel, the TLS handshake): no byte of the request was written,
    #: so ICE cannot have run it.
    CONNECT = "connect"
    #: Writing the request or reading the answer, or not known: ICE may have run it.
    SENT = "sent"


class Cause(Enum):
    """What happened, most specific first: (name, code, retryable). Read in the phase it happened
    in (:func:`transport_error`): in :attr:`Phase.SENT` a cause of connecting reads as
    :attr:`TLS_BROKEN` (the TLS ones) or :attr:`LOST`; in :attr:`Phase.CONNECT` a timeout reads as
    :attr:`CONNECT_TIMEOUT` (a TLS handshake that stalls times out as a read) and a lost or broken
    connection as :attr:`CONNECT_FAILED`."""

    CERTIFICATE = ("certificate", UNTRUSTED_CERTIFICATE, False)
    PROXY = ("proxy", PROXY_REFUSED, True)
    TLS = ("tls", TLS_FAILED, True)
    DNS = ("dns", CONNECTION_FAILED, True)
    CONNECT_TIMEOUT = ("connect timeout", CONNECT_TIMEOUT, True)
    REFUSED = ("refused", CONNECTION_FAILED, True)
    CONNECT_FAILED = ("connect failed", CONNECTION_FAILED, True)
    READ_TIMEOUT = ("read timeout", READ_TIMEOUT, True)
    TLS_BROKEN = ("tls broken", CONNECTION_LOST, True)
    LOST = ("lost", CONNECTION_LOST, True)


#: The causes only connecting has (named one by one: a new cause is of the sent phase until listed).
_CONNECTING = frozenset(
    {
        Cause.CERTIFICATE,
        Cause.PROXY,
        Cause.TLS,
        Cause.DNS,
        Cause.CONNECT_TIMEOUT,
        Cause.REFUSED,
        Cause.CONNECT_FAILED,
    }
)
_TLS = frozenset({Cause.CERTIFICATE, Cause.TLS})
#: What the causes of the sent phase read as while connecting.
_WHILE_CONNECTING = {Cause.READ_TIMEOUT: Cause.CONNECT_TIMEOUT, Cause.LOST: Cause.CONNECT_FAILED}

#: aiohttp's exceptions raised only by its connector, before a byte of the request is written: a
#: failed connection, DNS lookup, proxy tunnel or TLS handshake (``ClientConnectorError`` and its
#: subclasses), a proxy refusing the tunnel, and the ``connect`` timeout (the pool wait included).
AIOHTTP_CONNECT_PHASE: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ClientHttpProxyError,
    aiohttp.ConnectionTimeoutError,
)


def aiohttp_phase(exc: BaseException) -> Phase:
    """The phase of an aiohttp request's failure, by the exception aiohttp raised (not its causes)."""
    return Phase.CONNECT if isinstance(exc, AIOHTTP_CONNECT_PHASE) else Phase.SENT


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
    """What happened: the most specific cause anywhere in ``exc``'s chain; :attr:`Cause.LOST` if none
    is known. Says nothing of the phase."""
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


def transport_error(
    exc: BaseException,
    action: str,
    address: str,
    proxy: str | None,
    phase: Phase = Phase.SENT,
    protocol: str = "https",
) -> IceTransportError:
    """The error for a request that got no usable answer: whether ICE may have run it by ``phase``
    (default :attr:`Phase.SENT`: only a sender's evidence proves nothing was sent), what happened by
    the most specific cause in ``exc``'s chain. ``protocol`` is the connection's: plain http to a
    server that hangs up without a word is most often an HTTPS endpoint, and the hint says so."""
    cause = cause_of(exc)
    sent = phase is Phase.SENT
    if sent and cause in _CONNECTING:
        cause = Cause.TLS_BROKEN if cause in _TLS else Cause.LOST
    elif not sent:
        cause = _WHILE_CONNECTING.get(cause, cause)
    _, code, retryable = cause.value
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
            Cause.TLS_BROKEN: f"the TLS connection to {address}{via} broke after {action} was sent ({last})",
        }.get(cause, f"connection to {address}{via} lost ({last})")
        if protocol == "http" and cause is Cause.LOST and _hung_up_without_an_answer(errors):
            what = f"{what}: it hung up without an answer, as an HTTPS server does to plain http"
            hint = f"if {address} serves HTTPS (ICE's endpoints do), set Protocol (protocol) to https"
    return IceTransportError(code, f"{action}: {what}", retryable=retryable, may_have_run=sent, hint=hint)


def _hung_up_without_an_answer(errors: list[BaseException]) -> bool:
    """The connection closed before a status line, or what came was no HTTP (a TLS alert, say)."""
    hung_up = (http.client.RemoteDisconnected, aiohttp.ServerDisconnectedError)
    # http.client's and aiohttp's parsers each raise a BadStatusLine of their own (aiohttp's inside a
    # ClientResponseError), for a first line that is not HTTP: a TLS alert, say.
    return any(isinstance(e, hung_up) or type(e).__name__ == "BadStatusLine" for e in errors)


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
