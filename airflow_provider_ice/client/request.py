"""One ICE RPC request, built and signed once with the SDK's own V3 signer (``ACS3-HMAC-SHA256``),
whichever sender carries it: :mod:`.sync_sender` (requests) or :mod:`.async_sender` (aiohttp).

:func:`attempt` and :func:`aattempt` are one attempt of an action: the credentials of this moment,
the request, the send, and :func:`.errors.read_answer` for whatever comes back. Retries wrap them
(:mod:`.retry`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from secrets import token_hex
from typing import Any
from urllib.parse import urlencode

from alibabacloud_tea_openapi.utils import Utils

from airflow_provider_ice.client import credentials
from airflow_provider_ice.client.config import CLIENT_NAME, IceConnectionConfig
from airflow_provider_ice.client.errors import error_from_credentials, is_throttling, read_answer
from airflow_provider_ice.client.ratelimit import AdaptiveRateLimiter, limiter_for
from airflow_provider_ice.exceptions import NOT_SENT, IceApiError, IceNotSentError

API_VERSION = "2020-11-09"
SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256"
_EMPTY_PAYLOAD_HASH = Utils.hash(b"", SIGNATURE_ALGORITHM).hex()
USER_AGENT = Utils.get_user_agent(CLIENT_NAME)

#: What a sender returns: HTTP status, headers (case-insensitive ``get``), body.
Answer = tuple[int, Any, bytes]


@dataclass(frozen=True)
class IceRequest:
    """A signed request: ``POST`` to ``url`` (``target`` is its path and query string, as signed)."""

    action: str
    url: str
    target: str
    headers: dict[str, str]


@dataclass
class _Signable:
    """What the SDK's ``Utils.get_authorization`` reads of a request."""

    method: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str]


def build_request(protocol: str, endpoint: str, action: str, query: dict[str, str], credential: Any) -> IceRequest:
    """``action`` with ``query`` (every parameter in the query string, as the SDK sends RPC calls),
    signed with ``credential`` (a ``CredentialModel``: access key, secret, STS token) by the SDK's
    signer (``Utils.get_authorization``), with the headers the SDK sends."""
    headers = dict(
        _constant_headers(
            endpoint, action, credential.provider_name, credential.access_key_id, credential.security_token
        )
    )
    headers["x-acs-date"] = _timestamp()
    # The SDK's nonce is an md5 of a timestamp, a counter and 64 random bits; 128 random bits are as
    # unique, in the same 32 hex digits, for a fraction of the CPU.
    headers["x-acs-signature-nonce"] = token_hex(16)
    headers["Authorization"] = Utils.get_authorization(
        _Signable("POST", "/", query, headers),
        SIGNATURE_ALGORITHM,
        _EMPTY_PAYLOAD_HASH,
        credential.access_key_id,
        credential.access_key_secret,
    )
    # Unsigned, as the SDK leaves it: its requests path sends http.client's default, identity.
    headers["accept-encoding"] = "identity"
    # The parameters in the order the SDK's generated code adds them (by name), encoded as its urlencode does.
    target = "/?" + urlencode(sorted(query.items())) if query else "/"
    return IceRequest(action, f"{protocol}://{endpoint}{target}", target, headers)


@lru_cache(maxsize=256)
def _constant_headers(
    endpoint: str, action: str, provider_name: str | None, access_key_id: str, security_token: str | None
) -> dict[str, str]:
    """The headers that are the same on every call of ``action`` with one credential (an STS token
    is part of the key: a rotated one gets its own entry, the old one ages out). Never mutated."""
    headers = {
        "host": endpoint,
        "x-acs-version": API_VERSION,
        "x-acs-action": action,
        "user-agent": USER_AGENT,
        "accept": "application/json",
        "x-acs-content-sha256": _EMPTY_PAYLOAD_HASH,
    }
    if provider_name:
        headers["x-acs-credentials-provider"] = provider_name
    if security_token:
        headers["x-acs-accesskey-id"] = access_key_id
        headers["x-acs-security-token"] = security_token
    return headers


_stamp: tuple[int, str] = (0, "")


def _timestamp() -> str:
    """``Utils.get_timestamp()`` (UTC, ISO 8601 to the second), formatted once a second."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]


def attempt(
    config: IceConnectionConfig,
    credential: Any,
    send: Callable[[IceRequest], Answer],
    action: str,
    query: dict[str, str],
    deadline: float | None = None,
) -> dict[str, Any]:
    """One attempt of ``action`` on the sync path: the answer's JSON, or the error (raised). It
    waits first for its turn in the process's pacing of the action (:mod:`.ratelimit`) and is
    never sent before it; when that turn comes after ``deadline`` (``time.monotonic()``; None: no
    limit) it gives up at once, unsent (:class:`~airflow_provider_ice.exceptions.IceNotSentError`)."""
    try:
        current = credentials.current(credential)
    except Exception as exc:
        raise error_from_credentials(exc, action, config.credential_type) from None
    limiter = _limiter(config, action)
    ticket = limiter.reserve()
    try:
        while (delay := limiter.delay(ticket)) > 0:
            _give_up_past(deadline, delay, limiter, action)
            limiter.sleep(delay)
    except BaseException:
        limiter.cancel(ticket)
        raise
    request = build_request(config.protocol, config.endpoint, action, query, current)  # signed after the wait
    sent_at = limiter.now()
    return _learn(limiter, sent_at, lambda: read_answer(action, *send(request), request.target))


async def aattempt(
    config: IceConnectionConfig,
    credential: Any,
    send: Callable[[IceRequest], Awaitable[Answer]],
    action: str,
    query: dict[str, str],
    deadline: float | None = None,
) -> dict[str, Any]:
    """:func:`attempt` on the async path."""
    try:
        current = await credentials.acurrent(credential)
    except Exception as exc:
        raise error_from_credentials(exc, action, config.credential_type) from None
    limiter = _limiter(config, action)
    ticket = limiter.reserve()
    try:
        while (delay := limiter.delay(ticket)) > 0:
            _give_up_past(deadline, delay, limiter, action)
            await limiter.asleep(delay)
    except BaseException:  # given up, or cancelled (the trigger's task): the turn goes back
        limiter.cancel(ticket)
        raise
    request = build_request(config.protocol, config.endpoint, action, query, current)  # signed after the wait
    sent_at = limiter.now()
    answer = await send(request)
    return _learn(limiter, sent_at, lambda: read_answer(action, *answer, request.target))


def _give_up_past(deadline: float | None, delay: float, limiter: AdaptiveRateLimiter, action: str) -> None:
    """Raise :class:`~airflow_provider_ice.exceptions.IceNotSentError` when the turn comes after ``deadline``."""
    if deadline is not None and time.monotonic() + delay > deadline:
        raise IceNotSentError(
            NOT_SENT,
            f"{action} was not sent: its turn in this process's pacing of {action} ({limiter.rate or 0:.1f} calls/s) "
            f"comes in {delay:.0f}s, after the call's retry time limit; ICE did not receive it",
            hint="raise the account's quota for the action with Alibaba Cloud, send fewer at once (an Airflow pool), "
            "or allow more time (the connection's retry_max_elapsed)",
        )


def _limiter(config: IceConnectionConfig, action: str) -> AdaptiveRateLimiter:
    return limiter_for(config.account, config.endpoint, action, config.max_calls_per_second)


def _learn(limiter: AdaptiveRateLimiter, sent_at: float, read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Read an answer, telling the limiter whether ICE throttled it (failures without an answer say nothing)."""
    try:
        body = read()
    except IceApiError as exc:
        if exc.http_status is not None:
            limiter.answered(is_throttling(exc), sent_at)
        raise
    limiter.answered(False, sent_at)
    return body
