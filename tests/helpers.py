"""Shared test helpers: point a connection at an emulator and call the hook either way."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.testing.emulator import IceEmulator
from airflow_provider_ice.testing.pytest_plugin import FAST_RETRIES

# For code run in a subprocess: DagBag from where the installed Airflow keeps it.
IMPORT_DAGBAG = (
    "try:\n"
    "    from airflow.dag_processing.dagbag import DagBag\n"
    "except ImportError:  # Airflow < 3.1\n"
    "    from airflow.models.dagbag import DagBag\n"
)


def use_connection(
    monkeypatch: pytest.MonkeyPatch,
    emulator: IceEmulator,
    conn_id: str = "ice_default",
    *,
    login: str | None = None,
    password: str | None = None,
    **extras: Any,
) -> str:
    """Define ``conn_id`` (through its AIRFLOW_CONN_ env var) pointing at ``emulator``."""
    conn = json.loads(emulator.connection_uri(**{**FAST_RETRIES, **extras}))
    if login is not None:
        conn["login"] = login
    if password is not None:
        conn["password"] = password
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def wait_until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll ``check`` (state another thread changes) until it is truthy; fail, naming ``what``, after
    ``timeout`` seconds. Returns what ``check`` returned."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
    return result


async def until(check: Callable[[], Any], what: str) -> Any:
    """:func:`wait_until` without blocking the event loop (10 s at most)."""
    try:
        async with asyncio.timeout(10):
            while not (result := check()):  # noqa: ASYNC110 (state another thread changes: no event to await)
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"timed out after 10 s waiting for {what}")
    return result


def call(mode: str, method: str, *args: Any, hook: IceHook | None = None, **kwargs: Any) -> Any:
    """Run ``hook.<method>`` (sync) or ``hook.a<method>`` (async, in a fresh loop)."""
    hook = hook or IceHook()
    if mode == "sync":
        return getattr(hook, method)(*args, **kwargs)

    async def run() -> Any:
        async with hook:
            return await getattr(hook, f"a{method}")(*args, **kwargs)

    return asyncio.run(run())


@cache
def docs_contract() -> ModuleType:
    """docs/_ext/contract.py, the docs' rendering of the contract (docs code, not the package's)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "_ext", "contract.py")
    spec = importlib.util.spec_from_file_location("ice_docs_contract", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
