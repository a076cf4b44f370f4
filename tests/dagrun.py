"""Load a test DAG from tests/dags and run it with the plugin's run_dag."""

from __future__ import annotations

import os
from typing import Any

from airflow_provider_ice.testing.dagrun import DagRunResult, dag_from_file
from airflow_provider_ice.testing.dagrun import run_dag as run_loaded_dag

DAGS = os.path.join(os.path.dirname(__file__), "dags")


def load_dag(filename: str, dag_id: str) -> Any:
    return dag_from_file(os.path.join(DAGS, filename), dag_id)


def run_dag(filename: str, dag_id: str, **conf: Any) -> DagRunResult:
    return run_loaded_dag(load_dag(filename, dag_id), **conf)
