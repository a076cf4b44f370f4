"""Failures without an ICE answer are mapped by exception type (client/failures.py), following the
chain: every exception type aiohttp, requests and urllib3 export is either mapped or reviewed."""

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
from airflow_provider_ice.client.failures import Cause, cause_of, transport_error


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
    unreviewed = [cls.__qualname__ for cls in exported(module) if cls not in mapped | failures.LEFT_TO_DEFAULT]
    assert unreviewed == [], "map them in client/failures.py, or add them to LEFT_TO_DEFAULT once reviewed"


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
        (ValueError("no library's"), Cause.LOST),  # the safe default: may have run
    ],
)
def test_the_most_specific_cause_in_the_chain_decides(error, cause):
    assert cause_of(error) is cause


def test_a_plain_http_server_and_a_proxy_wanting_credentials_are_not_retried():
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    plain.reason = "WRONG_VERSION_NUMBER"  # what the ssl module sets
    err = transport_error(chained(rq.SSLError("x"), plain), "GetAIWorkflowTask", "h:443", None)
    assert (err.code, err.retryable, err.hint) == ("TlsHandshakeFailed", False, "set Protocol (protocol) to http")
    tunnel = OSError("Tunnel connection failed: 407 Proxy Authentication Required")
    err = transport_error(chained(rq.ProxyError("x"), tunnel), "GetAIWorkflowTask", "h:443", "http://u:pw@p:3128")
    assert (err.code, err.retryable) == ("ProxyRefused", False)
    assert "pw" not in str(err) and "put them in the Proxy URL (proxy)" in str(err)
