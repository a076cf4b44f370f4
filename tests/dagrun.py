"""Run a test DAG with dag.test() and read back task states and XComs from the metadata DB."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

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


@dataclass
class RunResult:
    state: str
    task_states: dict[str, str | None]
    try_numbers: dict[str, int]
    xcom: dict[tuple[str, str], Any]

    def xcoms_of(self, task_id: str) -> dict[str, Any]:
        return {key: value for (tid, key), value in self.xcom.items() if tid == task_id}


def run_dag(filename: str, dag_id: str, **conf: Any) -> RunResult:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    try:
        from airflow.models.xcom import XComModel

        def value_of(row: Any) -> Any:
            return XComModel.deserialize_value(row)
    except ImportError:  # Airflow 2: the ORM model is XCom itself, which deserializes on load
        from airflow.models.xcom import XCom as XComModel  # type: ignore[no-redef]

        def value_of(row: Any) -> Any:
            return row.value

    dag = load_dag(filename, dag_id)
    dagrun = dag.test(run_conf=conf)
    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dagrun.run_id)
        states = {ti.task_id: (str(ti.state) if ti.state else None) for ti in tis}
        tries = {ti.task_id: ti.try_number for ti in tis}
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == dagrun.run_id)
        xcom = {(r.task_id, r.key): value_of(r) for r in rows}
    return RunResult(str(dagrun.state), states, tries, xcom)
