"""One ICE RPC request, built and signed once (:mod:`.signing`: the SDK's V3 signature),
whichever sender carries it: :mod:`.sync_sender` (requests) or :mod:`.async_sender` (aiohttp).

:func:`attempt` and :func:`aattempt` are one attempt of an action: the credentials of this moment,
the request, the send, and :func:`.errors.read_answer` for whatever comes back. Retries wrap them
(:mod:`.retry`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from airflow_provider_ice.client import credentials
from airflow_provider_ice.client.config import IceConnectionConfig
from airflow_provider_ice.client.errors import error_from_credentials, is_throttling, read_answer
from airflow_provider_ice.client.ratelimit import AdaptiveRateLimiter, limiter_for
from airflow_provider_ice.client.signing import EMPTY_PAYLOAD_HASH, canonical_query, payload_hash, signed_headers
from airflow_provider_ice.exceptions import NOT_SENT, IceApiError, IceNotSentError
from airflow_provider_ice.kinds import DOCUMENTED_QUOTAS, FORM_PARAMS

#: What a sender returns: HTTP status, headers (case-insensitive ``get``), body.
Answer = tuple[int, Any, bytes]


@dataclass(frozen=True)
class IceRequest:
    """A signed request: ``POST`` to ``url`` (``target`` is its path and query string, as signed),
    with ``body`` (a form; empty for most actions)."""

    action: str
    url: str
    target: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Query:
    """An action's parameters, encoded once (a wait polls with the same ones every time): the query
    string sent (``target``: in the order the SDK's generated code adds them, by name, encoded as
    its ``urlencode`` does), the canonical one signed (the SDK's ``get_canonical_query_string``) and,
    for the parameters the SDK sends in a form body (``kinds.FORM_PARAMS``), that body and its hash."""

    params: dict[str, str]
    target: str
    canonical: str
    body: bytes = b""
    body_hash: str = EMPTY_PAYLOAD_HASH

    @classmethod
    def of(cls, params: dict[str, str] | Query, action: str = "") -> Query:
        """``params`` of ``action`` encoded (a :class:`Query` is returned as it is).

        :param params: the action's parameters.
        :param action: the action (its form parameters go in the body); default none: all in the query.
        """
        if isinstance(params, Query):
            return params
        in_form = FORM_PARAMS.get(action, frozenset())
        query = {name: value for name, value in params.items() if name not in in_form}
        target = "/?" + urlencode(sorted(query.items())) if query else "/"
        if len(query) == len(params):
            return cls(params, target, canonical_query(params))
        # The SDK's form body: its parameters sorted and urlencoded (darabonba's Form.to_form_string).
        body = urlencode(sorted((name, value) for name, value in params.items() if name in in_form)).encode()
        return cls(params, target, canonical_query(query), body, payload_hash(body))


def build_request(
    protocol: str, endpoint: str, action: str, query: dict[str, str] | Query, credential: Any
) -> IceRequest:
    """``action`` with ``query`` (in the query string, as the SDK sends RPC calls, but for the
    parameters it sends in a form body),
    signed with ``credential`` (a ``CredentialModel``: access key, secret, STS token) as the SDK
    signs it (:mod:`.signing`), with the headers the SDK sends."""
    encoded = Query.of(query, action)
    headers = signed_headers(endpoint, action, encoded.canonical, credential, encoded.body_hash)
    # Unsigned, as the SDK leaves it: its requests path sends http.client's default, identity.
    headers["accept-encoding"] = "identity"
    return IceRequest(action, f"{protocol}://{endpoint}{encoded.target}", encoded.target, headers, encoded.body)


def attempt(
    config: IceConnectionConfig,
    credential: Any,
    send: Callable[[IceRequest], Answer],
    action: str,
    query: dict[str, str] | Query,
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
            _give_up_past(deadline, ticket, limiter, action)
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
    query: dict[str, str] | Query,
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
            _give_up_past(deadline, ticket, limiter, action)
            await limiter.asleep(delay)
    except BaseException:  # given up, or cancelled (the trigger's task): the turn goes back
        limiter.cancel(ticket)
        raise
    request = build_request(config.protocol, config.endpoint, action, query, current)  # signed after the wait
    sent_at = limiter.now()
    answer = await send(request)
    return _learn(limiter, sent_at, lambda: read_answer(action, *answer, request.target))


def _give_up_past(deadline: float | None, ticket: int, limiter: AdaptiveRateLimiter, action: str) -> None:
    """Raise :class:`~airflow_provider_ice.exceptions.IceNotSentError` when the turn comes after ``deadline``."""
    delay = None if deadline is None else limiter.delay_to_count_on(ticket)
    if deadline is not None and delay is not None and time.monotonic() + delay > deadline:
        raise IceNotSentError(
            NOT_SENT,
            f"{action} was not sent: its turn in this process's pacing of {action} ({limiter.rate:.1f} calls/s) "
            f"comes in {delay:.0f}s, after the call's retry time limit; ICE did not receive it",
            hint="raise the account's quota for the action with Alibaba Cloud, send fewer at once (an Airflow pool), "
            "or allow more time (the connection's retry_max_elapsed)",
        )


def _limiter(config: IceConnectionConfig, action: str) -> AdaptiveRateLimiter:
    # An action's quota ICE publishes (SubmitMediaProducingJob: 30 a second) caps the connection's.
    documented, configured = DOCUMENTED_QUOTAS.get(action), config.max_calls_per_second
    cap = configured if documented is None else min(documented, configured or documented)
    return limiter_for(config.account, config.endpoint, action, cap)


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
