from __future__ import annotations

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
