"""Opt-in pytest plugin: ``pytest_plugins = ["airflow_provider_ice.testing.pytest_plugin"]``.

Load it before anything imports Airflow (``pytest_plugins`` in your top conftest.py, with no Airflow
import above it). Tests never touch what is not theirs: every session gets a throwaway
``AIRFLOW_HOME`` and metastore (examples off), whatever the shell has set: ``AIRFLOW_HOME``,
``AIRFLOW_CONFIG``, the ``[database]`` and ``[secrets]`` settings (a secrets backend would look up
connections), ``AIRFLOW_CONN_*`` and ``AIRFLOW_VAR_*``, remote logging and the log folder are unset
for the session, so your own connections, variables, run history and logs are neither read nor
written. To run against your own Airflow instead, opt in by name: the ini option
``ice_use_airflow_home = true`` or the flag ``--ice-use-airflow-home``; then
``ice_stored_connection`` refuses to overwrite a connection that already exists. With no
``AIRFLOW__CORE__DAGS_FOLDER`` set, the DAGs folder is the ``ice_dags_folder`` ini option (default
``dags``, relative to pytest's rootdir) when it exists: ``dag.test()`` on Airflow 3 runs only DAGs
found there.

Fixtures:

- ``ice_airflow_db``: the metadata DB of the session's ``AIRFLOW_HOME``, migrated once (``airflow db
  migrate``); returns ``AIRFLOW_HOME``. Needed by DAG runs (:func:`~airflow_provider_ice.testing.dagrun.run_dag`).
- ``ice_emulator``: a started :class:`~airflow_provider_ice.testing.emulator.server.IceEmulator` (plain
  HTTP) with a fresh backend per test (and the process's pacing of ICE calls forgotten).
- ``ice_emulator_tls``: the same over HTTPS, with a certificate from a private CA (``ca_file``).
- ``ice_connection``: sets ``AIRFLOW_CONN_ICE_DEFAULT`` to a connection pointing at ``ice_emulator``
  and returns its id (``ice_default``).
- ``ice_stored_connection``: stores ``ice_default`` pointing at ``ice_emulator`` in the metastore
  instead, as the UI or ``airflow connections add`` do (no ``AIRFLOW_CONN_*`` variable), and
  deletes it after the test; returns its id.

Both connection fixtures use fast retries, so fault tests stay quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_ice import DEFAULT_CONN_ID
from airflow_provider_ice.testing.emulator import IceEmulator

OPT_IN_FLAG, OPT_IN_INI = "--ice-use-airflow-home", "ice_use_airflow_home"
#: What points Airflow at a user's metastore, configuration, secrets, connections, variables or logs:
#: unset in a throwaway session (with their ``_CMD`` and ``_SECRET`` forms). Whole sections by prefix.
_USERS_PREFIXES = (
    "AIRFLOW_CONN_",
    "AIRFLOW_VAR_",
    "AIRFLOW__DATABASE__",
    "AIRFLOW__SECRETS__",
    "AIRFLOW__CORE__SQL_ALCHEMY_",
    "AIRFLOW__LOGGING__REMOTE_",
)
_USERS_SETTINGS = ("AIRFLOW_CONFIG", "AIRFLOW__LOGGING__BASE_LOG_FOLDER")


def _users(name: str) -> bool:
    return name.startswith(_USERS_PREFIXES) or name.removesuffix("_CMD").removesuffix("_SECRET") in _USERS_SETTINGS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("ice_dags_folder", "the DAGs folder for dag.test(), relative to the rootdir", default="dags")
    why = (
        "run against the AIRFLOW_HOME, metastore and connections of the environment instead of a throwaway "
        "one (ice_stored_connection then refuses to overwrite an existing connection)"
    )
    parser.addini(OPT_IN_INI, why, type="bool", default=False)
    parser.addoption(OPT_IN_FLAG, action="store_true", default=False, help=why)


def uses_airflow_home(config: pytest.Config) -> bool:
    """Whether the session opted in to the environment's own Airflow (flag or ini option).

    :param config: the session's pytest configuration.
    """
    return bool(config.getoption(OPT_IN_FLAG, default=False) or config.getini(OPT_IN_INI))


def pytest_configure(config: pytest.Config) -> None:
    own = uses_airflow_home(config)
    if "airflow" in sys.modules:  # configured already: changing the environment would not take effect
        if not own:
            raise pytest.UsageError(
                "airflow_provider_ice.testing.pytest_plugin: Airflow was imported before the plugin loaded, so the "
                "tests would use the Airflow configured then (AIRFLOW_HOME, metastore, connections). Load the plugin "
                "first (pytest_plugins in your top conftest.py, with no Airflow import above it), or opt in to that "
                f"Airflow with {OPT_IN_FLAG} ({OPT_IN_INI} = true)."
            )
        return
    if not own:
        for name in [name for name in os.environ if _users(name)]:
            del os.environ[name]
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="ice-pytest-airflow-home-")
        os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    dags = os.path.join(str(config.rootpath), str(config.getini("ice_dags_folder")))
    if "AIRFLOW__CORE__DAGS_FOLDER" not in os.environ and os.path.isdir(dags):
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = dags


FAST_RETRIES: dict[str, Any] = {"retry_base_delay": 0.01, "retry_max_delay": 0.05}


@pytest.fixture(scope="session")
def ice_airflow_db() -> str:
    """The session's metadata DB, migrated (once); returns AIRFLOW_HOME."""
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, timeout=600)
    return os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))


@pytest.fixture(scope="session")
def _ice_emulator_session() -> Iterator[IceEmulator]:
    with IceEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def _ice_emulator_tls_session() -> Iterator[IceEmulator]:
    with IceEmulator(tls=True) as emulator:
        yield emulator


def _fresh(emulator: IceEmulator) -> Iterator[IceEmulator]:
    """The emulator with a fresh backend, and this process's pacing of ICE calls forgotten: what one
    test throttled must not slow the next."""
    from airflow_provider_ice.client.ratelimit import forget_limiters

    emulator.backend.reset()
    forget_limiters()
    yield emulator
    emulator.backend.reset()
    forget_limiters()


@pytest.fixture
def ice_emulator(_ice_emulator_session: IceEmulator) -> Iterator[IceEmulator]:
    yield from _fresh(_ice_emulator_session)


@pytest.fixture
def ice_emulator_tls(_ice_emulator_tls_session: IceEmulator) -> Iterator[IceEmulator]:
    yield from _fresh(_ice_emulator_tls_session)


@pytest.fixture
def ice_connection(ice_emulator: IceEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``ice_default`` pointing at the emulator, through ``AIRFLOW_CONN_ICE_DEFAULT``."""
    monkeypatch.setenv("AIRFLOW_CONN_ICE_DEFAULT", ice_emulator.connection_uri(**FAST_RETRIES))
    return DEFAULT_CONN_ID


@pytest.fixture
def ice_stored_connection(
    ice_emulator: IceEmulator, ice_airflow_db: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[str]:
    """``ice_default`` pointing at the emulator, stored in the metastore (no environment variable).
    In the environment's own Airflow (opted in), an existing ``ice_default`` is never overwritten:
    the test fails, naming it."""
    import json

    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    monkeypatch.delenv("AIRFLOW_CONN_ICE_DEFAULT", raising=False)
    with create_session() as session:
        existing = session.query(Connection).filter(Connection.conn_id == DEFAULT_CONN_ID)
        if uses_airflow_home(request.config) and existing.count():
            pytest.fail(
                f"ice_stored_connection: connection {DEFAULT_CONN_ID!r} already exists in the metastore of "
                f"AIRFLOW_HOME={ice_airflow_db} and is not overwritten (the session uses your own Airflow: "
                f"{OPT_IN_FLAG} or {OPT_IN_INI}). Run without the opt-in (a throwaway AIRFLOW_HOME), or use "
                "ice_connection (an environment variable) instead.",
                pytrace=False,
            )
        existing.delete()
        session.add(
            Connection(
                conn_id=DEFAULT_CONN_ID,
                conn_type="alibaba_cloud_ice",
                login=ice_emulator.access_key_id,
                password=ice_emulator.access_key_secret,
                extra=json.dumps(ice_emulator.connection_extras(**FAST_RETRIES)),
            )
        )
    yield DEFAULT_CONN_ID
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == DEFAULT_CONN_ID).delete()
