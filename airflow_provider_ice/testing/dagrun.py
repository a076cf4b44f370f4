"""Run a DAG in a test with ``dag.test()`` and read back what a test asserts on.

``dag.test()`` runs every task in this process (deferred ones through an in-process triggerer) on
the metadata DB of the configured ``AIRFLOW_HOME`` (the pytest plugin's ``ice_airflow_db`` migrates
it). Works on every Airflow line this package supports.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass
class DagRunResult:
    """A finished run: its state, each task's state and try number, and every XCom by (task_id, key).

    :param state: the run's state (``success``, ``failed``).
    :param task_states: each task's state by task id.
    :param try_numbers: each task's try number by task id.
    :param xcom: every XCom value by ``(task_id, key)``, as a downstream task reads it.
    :param link_xcoms: which of them Airflow 3 wrote to record a task's extra links; default none.
    """

    state: str
    task_states: dict[str, str | None]
    try_numbers: dict[str, int]
    xcom: dict[tuple[str, str], Any]
    #: ``(task_id, key)`` of the XComs in which Airflow 3 records each extra link a task shows
    #: (``BaseOperatorLink.xcom_key``, ``_link_<class>``): in ``xcom``, not in :meth:`xcoms_of`.
    link_xcoms: frozenset[tuple[str, str]] = frozenset()

    def xcoms_of(self, task_id: str) -> dict[str, Any]:
        """The XComs ``task_id`` pushed, by key; not Airflow's own records of the task's extra links
        (``_link_<class>``, which Airflow 3 writes when the task ends: the "ICE console" link's).

        :param task_id: the task.
        """
        return {
            key: value
            for (tid, key), value in self.xcom.items()
            if tid == task_id and (tid, key) not in self.link_xcoms
        }


@cache
def _module(path: str) -> Any:
    name = "ice_dag_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not a Python file: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dag_from_file(path: str, dag_id: str | None = None) -> Any:
    """The DAG defined in the Python file at ``path`` (the one named ``dag_id`` if it defines several);
    each file is executed once per process.

    :param path: the DAG file.
    :param dag_id: which DAG, when the file defines several; default None: its only one.
    :raises ValueError: when the file defines several DAGs and ``dag_id`` is None.
    """
    dags = {
        v.dag_id: v
        for v in vars(_module(os.path.abspath(path))).values()
        if not isinstance(v, type) and hasattr(v, "dag_id") and hasattr(v, "test")
    }
    if dag_id is not None:
        return dags[dag_id]
    if len(dags) != 1:
        raise ValueError(f"{path} defines {sorted(dags)}: name the one to run with dag_id")
    return next(iter(dags.values()))


def run_dag(dag: Any, **conf: Any) -> DagRunResult:
    """Run ``dag`` once with ``dag.test(run_conf=conf)`` and return what it did.

    :param dag: the DAG (e.g. from :func:`dag_from_file`).
    :param conf: the run's ``conf`` (what ``dag_run.conf`` and ``params`` see).
    """
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
    links = frozenset(
        (task.task_id, link.xcom_key)
        for task in dag.tasks
        for link in getattr(task, "operator_extra_links", ())
        if getattr(link, "xcom_key", None)  # Airflow 3 (2.11 keeps no link in XCom)
    )
    return DagRunResult(str(dagrun.state), states, tries, xcom, links)
