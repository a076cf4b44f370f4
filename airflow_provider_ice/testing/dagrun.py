"""Run a DAG in a test with ``dag.test()`` and read back what a test asserts on.

``dag.test()`` runs every task in this process (deferred ones through an in-process triggerer) on
the metadata DB of the configured ``AIRFLOW_HOME`` (the pytest plugin's ``ice_airflow_db`` migrates
it). Works on every Airflow line this package supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class DagRunResult:
    """A finished run: its state, each task's state and try number, and every XCom by (task_id, key)."""

    state: str
    task_states: dict[str, str | None]
    try_numbers: dict[str, int]
    xcom: dict[tuple[str, str], Any]

    def xcoms_of(self, task_id: str) -> dict[str, Any]:
        """The XComs ``task_id`` pushed, by key."""
        return {key: value for (tid, key), value in self.xcom.items() if tid == task_id}


def run_dag(dag: Any, **conf: Any) -> DagRunResult:
    """Run ``dag`` once with ``dag.test(run_conf=conf)`` and return what it did."""
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

    dagrun = dag.test(run_conf=conf)
    with create_session() as session:
        tis = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dagrun.run_id
        )
        states = {ti.task_id: (str(ti.state) if ti.state else None) for ti in tis}
        tries = {ti.task_id: ti.try_number for ti in tis}
        rows = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == dagrun.run_id)
        xcom = {(r.task_id, r.key): value_of(r) for r in rows}
    return DagRunResult(str(dagrun.state), states, tries, xcom)
