"""One call of an action, end to end, for the hook: the retries (:mod:`.retry`) around each attempt
(:mod:`.request`), how long a call may wait for its turn in the process's pacing, and the error
naming the connection to fix. Imported once, on the hook's first call (it loads the client stack).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from airflow_provider_ice.client.config import IceConnectionConfig
from airflow_provider_ice.client.errors import in_connection, reworded
from airflow_provider_ice.client.request import Answer, IceRequest, Query, aattempt, attempt
from airflow_provider_ice.client.retry import acall_with_retries, call_with_retries
from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.kinds import KEYED_ACTIONS, SUBMIT_ACTIONS

Config = IceConnectionConfig
Send = Callable[[IceRequest], Answer]
AsyncSend = Callable[[IceRequest], Awaitable[Answer]]


def turn_deadline(action: str, config: IceConnectionConfig) -> float | None:
    """How long a call may wait for its turn in the process's pacing: a start or submit (it bills)
    gives up unsent past its retry time limit; a poll or a stop waits its turn, however long the queue."""
    return time.monotonic() + config.retry.max_elapsed if action in SUBMIT_ACTIONS else None


@contextmanager
def _naming(conn_id: str) -> Iterator[None]:
    """An error the connection can fix names it (:func:`.errors.in_connection`)."""
    try:
        yield
    except IceApiError as exc:
        raise in_connection(exc, conn_id) from None


class _Unsure:
    """Whether an attempt of a keyed submit may have run: a resend that then fails for another reason
    (a throttled answer, its turn given up) must not hide that a job may exist."""

    def __init__(self, action: str, query: Query) -> None:
        # Only an action ICE documents the key for: a ClientToken on StartAIWorkflow proves nothing.
        self.keyed = action in KEYED_ACTIONS and bool(query.params.get("ClientToken"))
        self.seen = False

    def note(self, error: IceApiError) -> None:
        self.seen = self.seen or error.may_have_run

    def final(self, error: IceApiError) -> IceApiError:
        """The error that ends the call, saying so when an earlier attempt may have run."""
        if self.keyed and self.seen and not error.may_have_run:
            return reworded(error, f"{error.message.rstrip('.')} (an earlier attempt may have run)", may_have_run=True)
        return error


def call(config: Config, credential: Any, send: Send, action: str, query: Query, conn_id: str) -> dict[str, Any]:
    """``action`` on the sync path, retried by the connection's policy: the answer's JSON."""
    deadline = turn_deadline(action, config)
    with _naming(conn_id):
        if action not in SUBMIT_ACTIONS:
            return call_with_retries(
                action, config.retry, lambda: attempt(config, credential, send, action, query, deadline)
            )
        unsure = _Unsure(action, query)

        def once() -> dict[str, Any]:
            try:
                return attempt(config, credential, send, action, query, deadline)
            except IceApiError as exc:
                unsure.note(exc)
                raise

        try:
            return call_with_retries(action, config.retry, once, unsure.keyed)
        except IceApiError as exc:
            raise unsure.final(exc) from None


async def acall(
    config: Config, credential: Any, send: AsyncSend, action: str, query: Query, conn_id: str
) -> dict[str, Any]:
    """:func:`call` on the async path."""
    deadline = turn_deadline(action, config)
    with _naming(conn_id):
        if action not in SUBMIT_ACTIONS:  # a poll: nothing more per call than the attempt
            return await acall_with_retries(
                action, config.retry, lambda: aattempt(config, credential, send, action, query, deadline)
            )
        unsure = _Unsure(action, query)

        async def once() -> dict[str, Any]:
            try:
                return await aattempt(config, credential, send, action, query, deadline)
            except IceApiError as exc:
                unsure.note(exc)
                raise

        try:
            return await acall_with_retries(action, config.retry, once, unsure.keyed)
        except IceApiError as exc:
            raise unsure.final(exc) from None
