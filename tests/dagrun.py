"""Load a test DAG from tests/dags and run it with the plugin's run_dag."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from airflow_provider_ice.testing.dagrun import DagRunResult
from airflow_provider_ice.testing.dagrun import run_dag as run_loaded_dag

DAGS = os.path.join(os.path.dirname(__file__), "dags")
_modules: dict[str, Any] = {}


def load_dag(filename: str, dag_id: str) -> Any:
    if filename not in _modules:
        spec = importlib.util.spec_from_file_location(filename.removesuffix(".py"), os.path.join(DAGS, filename))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[filename] = module
    for value in vars(_modules[filename]).values():
        if getattr(value, "dag_id", None) == dag_id:
            return value
    raise KeyError(dag_id)


def run_dag(filename: str, dag_id: str, **conf: Any) -> DagRunResult:
    return run_loaded_dag(load_dag(filename, dag_id), **conf)
