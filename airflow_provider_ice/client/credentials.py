"""Credentials: one ``alibabacloud_credentials`` client per set of credentials in the process.

A triggerer with a thousand waits on one connection holds one client, which refreshes an expiring
STS/RAM-role/ECS-role/OIDC credential once, not a thousand times; both paths ask it on every request
(:func:`current` / :func:`acurrent`).
"""

from __future__ import annotations

import logging
import threading
import weakref
from contextvars import ContextVar
from typing import Any

from airflow_provider_ice.client.config import CLIENT_NAME, IceConnectionConfig

_CREDENTIALS: dict[tuple[Any, ...], Any] = {}
_CREDENTIALS_LOCK = threading.Lock()
#: Set while this thread or task asks a credentials client for the credential of a request.
_FETCHING: ContextVar[bool] = ContextVar("ice_fetching_credentials", default=False)


class _QuietWhileFetching(logging.Filter):
    """alibabacloud-credentials logs every provider that fails, a traceback each (its ``credentials``
    logger, which has a handler of its own), then raises: while a request of ours asks, the error it
    becomes says it once (:func:`.errors.error_from_credentials`). Its background refreshes still log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _FETCHING.get()


_QUIET = _QuietWhileFetching()


#: Credentials that never change in the process (a key, or an STS token set in the connection),
#: by the type their model carries: fetched once; the others (role, ECS, OIDC, the default chain, a custom
#: provider) on every request, as their client refreshes them.
FIXED_TYPES = frozenset({"access_key", "sts"})
_FIXED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def current(credential: Any) -> Any:
    """The credential (``CredentialModel``) for a request now, from ``credential``'s client."""
    fixed = _FIXED.get(credential)
    if fixed is not None:
        return fixed
    token = _FETCHING.set(True)
    try:
        return _keep(credential, credential.get_credential())
    finally:
        _FETCHING.reset(token)


async def acurrent(credential: Any) -> Any:
    """:func:`current` on the async path."""
    fixed = _FIXED.get(credential)
    if fixed is not None:
        return fixed
    token = _FETCHING.set(True)
    try:
        return _keep(credential, await credential.get_credential_async())
    finally:
        _FETCHING.reset(token)


def _keep(credential: Any, model: Any) -> Any:
    # The model names the provider that made it (a custom provider: its own name, never fixed).
    if getattr(model, "type", None) in FIXED_TYPES:
        _FIXED[credential] = model
    return model


def shared_credential(config: IceConnectionConfig) -> Any:
    """The process's credentials client for ``config``'s credentials (built on first use)."""
    key = config.credential_key
    built = _CREDENTIALS.get(key)  # no lock when it exists: a hook on the event loop gets it here
    if built is not None:
        return built
    with _CREDENTIALS_LOCK:
        if key not in _CREDENTIALS:
            _CREDENTIALS[key] = _new_credential(config)
        return _CREDENTIALS[key]


def cached_credential(config: IceConnectionConfig) -> Any | None:
    """The process's credentials client for ``config`` if one was built already, else None.

    Called on the event loop, so never waits on the lock: a thread holds it while it builds a client
    (slow imports; a credential chain may read files or ask the ECS metadata service). A dict read
    needs no lock; a client being built is not there yet."""
    return _CREDENTIALS.get(config.credential_key)


def _new_credential(config: IceConnectionConfig) -> Any:
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.models import Config as CredentialConfig

    if _QUIET not in logging.getLogger("credentials").filters:
        logging.getLogger("credentials").addFilter(_QUIET)

    if config.credential_type == "default":
        return CredentialClient()
    return CredentialClient(
        CredentialConfig(
            type=config.credential_type,
            access_key_id=config.access_key_id,
            access_key_secret=config.access_key_secret,
            security_token=config.security_token,
            role_arn=config.role_arn,
            role_session_name=config.role_session_name or CLIENT_NAME,
            role_name=config.role_name,
            oidc_provider_arn=config.oidc_provider_arn,
            oidc_token_file_path=config.oidc_token_file_path,
        )
    )
