from __future__ import annotations

import functools
import logging
import os
import tempfile

import pytest

# Airflow reads its configuration at import: give the test session its own home and DAG folder
# (dag.test() runs DAGs found in a bundle) before anything imports it.
_HOME = tempfile.mkdtemp(prefix="ice-tests-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(os.path.dirname(__file__), "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
# Airflow 3.0's dag.test() prints a failed task's exception as a rich traceback wrapped at the
# terminal's width, which splits the message the failure tests look for: a wide terminal keeps it whole.
os.environ["COLUMNS"] = "1000"

pytest_plugins = ["airflow_provider_ice.testing.pytest_plugin"]
# A user's project, run by test_user_project in a process (and an AIRFLOW_HOME) of its own.
collect_ignore = ["user_project"]

# The ECS RAM-role credential provider (wired in test_credentials) starts an apscheduler thread whose
# atexit shutdown logs after pytest has closed its streams; its INFO lines are noise here.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run DAGs (they need the metadata DB) and e2e tests are slow; so are modules marked so."""
    for item in items:
        if "ice_airflow_db" in getattr(item, "fixturenames", ()) or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _one_execution_api_per_session() -> None:
    """Airflow 3.0 to 3.2's dag.test() build a new in-process Execution API (a FastAPI app with
    Cadwyn's versioned routers, 2-3 s here) for every task it runs; 3.3 builds it once
    (apache/airflow#65235: functools.lru_cache on supervisor.in_process_api_server). The same cache
    here, on those lines only, as astronomer-cosmos does in its tests: it changes how long a DAG run
    takes, not what it does. Remove it once 3.0 to 3.2 leave the matrix."""
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:  # Airflow 2
        return
    build = getattr(supervisor, "in_process_api_server", None)
    if build is None or hasattr(build, "cache_clear"):  # absent (3.0) or cached already (3.3)
        return
    supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(build)
