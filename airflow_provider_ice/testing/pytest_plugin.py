"""Opt-in pytest plugin: ``pytest_plugins = ["airflow_provider_ice.testing.pytest_plugin"]``.

Fixtures:

- ``ice_emulator``: a started :class:`~airflow_provider_ice.testing.emulator.IceEmulator` (plain
  HTTP) with a fresh backend per test.
- ``ice_emulator_tls``: the same over HTTPS with a self-signed certificate.
- ``ice_connection``: sets ``AIRFLOW_CONN_ICE_DEFAULT`` to a connection pointing at ``ice_emulator``
  and returns its id (``ice_default``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_ice import DEFAULT_CONN_ID
from airflow_provider_ice.testing.emulator import IceEmulator


@pytest.fixture(scope="session")
def _ice_emulator_session() -> Iterator[IceEmulator]:
    with IceEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def _ice_emulator_tls_session() -> Iterator[IceEmulator]:
    with IceEmulator(tls=True) as emulator:
        yield emulator


@pytest.fixture
def ice_emulator(_ice_emulator_session: IceEmulator) -> Iterator[IceEmulator]:
    _ice_emulator_session.backend.reset()
    yield _ice_emulator_session
    _ice_emulator_session.backend.reset()


@pytest.fixture
def ice_emulator_tls(_ice_emulator_tls_session: IceEmulator) -> Iterator[IceEmulator]:
    _ice_emulator_tls_session.backend.reset()
    yield _ice_emulator_tls_session
    _ice_emulator_tls_session.backend.reset()


@pytest.fixture
def ice_connection(ice_emulator: IceEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``ice_default`` pointing at the emulator, with fast retries so fault tests stay quick."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ICE_DEFAULT",
        ice_emulator.connection_uri(retry_base_delay=0.01, retry_max_delay=0.05),
    )
    return DEFAULT_CONN_ID
