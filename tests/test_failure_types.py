"""Failures without an ICE answer (client/failures.py): the phase says whether ICE may have run the
request, the exception types (following the chain) say what happened; every exception type aiohttp,
requests and urllib3 export is either mapped or reviewed here."""

from __future__ import annotations

import inspect
import itertools
import socket
import ssl
from types import ModuleType
from typing import Any

import aiohttp
import pytest
import requests.exceptions as rq
import urllib3.exceptions as u3

from airflow_provider_ice.client import failures
from airflow_provider_ice.client.failures import Cause, Phase, aiohttp_phase, cause_of, transport_error

#: Exported exception types of the libraries left to the default cause (LOST), reviewed: none can
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


def exported(module: ModuleType) -> list[type[BaseException]]:
    root = module.__name__.split(".")[0]
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and not issubclass(cls, Warning) and cls.__module__.startswith(root)
    ]


@pytest.mark.parametrize("module", [aiohttp, rq, u3], ids=lambda m: m.__name__)
def test_every_exported_exception_type_is_mapped_or_reviewed(module):
    mapped = {cls for table in failures.TABLES for cls in table}
    unreviewed = [cls.__qualname__ for cls in exported(module) if cls not in mapped | LEFT_TO_DEFAULT]
    assert unreviewed == [], "map them in client/failures.py, or add them to LEFT_TO_DEFAULT here once reviewed"


def chained(*errors: BaseException) -> BaseException:
    """``errors[0]`` wrapping ``errors[1]`` wrapping ..., as ``raise ... from ...`` links them."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


NO_CONNECTION: Any = None  # urllib3's exceptions name the connection or pool they came from


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        # requests.ConnectionError wraps a refused connection and a dropped one alike: the chain decides
        (
            chained(rq.ConnectionError("x"), u3.NewConnectionError(NO_CONNECTION, "x"), ConnectionRefusedError()),
            Cause.REFUSED,
        ),
        (chained(rq.ConnectionError("x"), u3.ProtocolError("x"), ConnectionResetError()), Cause.LOST),
        (rq.ConnectionError("x"), Cause.LOST),
        (
            chained(
                rq.ConnectionError("x"),
                u3.MaxRetryError(NO_CONNECTION, "/", u3.NameResolutionError("h", NO_CONNECTION, socket.gaierror())),
            ),
            Cause.DNS,
        ),
        (chained(rq.SSLError("x"), u3.SSLError("x"), ssl.SSLCertVerificationError("x")), Cause.CERTIFICATE),
        (rq.ConnectTimeout("x"), Cause.CONNECT_TIMEOUT),
        (rq.ReadTimeout("x"), Cause.READ_TIMEOUT),
        (aiohttp.ConnectionTimeoutError("x"), Cause.CONNECT_TIMEOUT),
        (aiohttp.SocketTimeoutError("x"), Cause.READ_TIMEOUT),
        (aiohttp.ServerDisconnectedError(), Cause.LOST),
        (socket.gaierror(-2, "Name or service not known"), Cause.DNS),
        (TimeoutError(), Cause.READ_TIMEOUT),
        (ValueError("no library's"), Cause.LOST),
    ],
)
def test_the_most_specific_cause_in_the_chain_decides(error, cause):
    assert cause_of(error) is cause


def bad_record() -> BaseException:
    """What requests raises for a TLS record that fails its MAC check: handshake or answer alike."""
    mac = ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed or bad record mac")
    return chained(rq.SSLError("x"), u3.SSLError("x"), mac)


@pytest.mark.parametrize(
    ("phase", "code", "may_have_run", "words"),
    [
        (Phase.CONNECT, "TlsHandshakeFailed", False, "GetAIWorkflowTask: TLS handshake with h:443 failed"),
        (Phase.SENT, "ConnectionLost", True, "the TLS connection to h:443 broke after GetAIWorkflowTask was sent"),
    ],
)
def test_the_phase_not_the_type_says_whether_ice_may_have_run_it(phase, code, may_have_run, words):
    err = transport_error(bad_record(), "GetAIWorkflowTask", "h:443", None, phase)
    assert (err.code, err.may_have_run, err.retryable) == (code, may_have_run, True)
    assert words in str(err)


def test_without_evidence_of_the_phase_a_request_may_have_run():
    refused = chained(rq.ConnectionError("x"), u3.NewConnectionError(NO_CONNECTION, "x"), ConnectionRefusedError())
    assert transport_error(refused, "StartAIWorkflow", "h:443", None).may_have_run
    assert not transport_error(refused, "StartAIWorkflow", "h:443", None, Phase.CONNECT).may_have_run


@pytest.mark.parametrize(
    ("error", "phase"),
    [
        (aiohttp.ClientConnectorError(NO_CONNECTION, ConnectionRefusedError()), Phase.CONNECT),
        (aiohttp.ClientConnectorSSLError(NO_CONNECTION, ssl.SSLError()), Phase.CONNECT),
        (aiohttp.ClientConnectorCertificateError(NO_CONNECTION, ssl.SSLCertVerificationError()), Phase.CONNECT),
        (aiohttp.ClientProxyConnectionError(NO_CONNECTION, OSError()), Phase.CONNECT),
        (aiohttp.ConnectionTimeoutError("x"), Phase.CONNECT),
        # after the connection: a TLS error while reading comes wrapped as a plain ClientOSError
        (chained(aiohttp.ClientOSError(), ssl.SSLError()), Phase.SENT),
        (aiohttp.ServerDisconnectedError(), Phase.SENT),
        (aiohttp.ClientPayloadError("x"), Phase.SENT),
        (aiohttp.SocketTimeoutError("x"), Phase.SENT),
        (TimeoutError(), Phase.SENT),
    ],
)
def test_aiohttp_says_the_phase_by_the_exception_it_raises(error, phase):
    assert aiohttp_phase(error) is phase


def test_a_plain_http_server_and_a_proxy_wanting_credentials_are_not_retried():
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    plain.reason = "WRONG_VERSION_NUMBER"  # what the ssl module sets
    err = transport_error(chained(rq.SSLError("x"), plain), "GetAIWorkflowTask", "h:443", None, Phase.CONNECT)
    assert (err.code, err.retryable, err.hint) == ("TlsHandshakeFailed", False, "set Protocol (protocol) to http")
    tunnel = OSError("Tunnel connection failed: 407 Proxy Authentication Required")
    err = transport_error(
        chained(rq.ProxyError("x"), tunnel), "GetAIWorkflowTask", "h:443", "http://u:pw@p:3128", Phase.CONNECT
    )
    assert (err.code, err.retryable) == ("ProxyRefused", False)
    assert "pw" not in str(err) and "put them in the Proxy URL (proxy)" in str(err)
