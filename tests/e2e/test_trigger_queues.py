"""Trigger queues (Airflow >= 3.2) on real services: ICE waits given ``queue="ice"`` run only on a
triggerer serving ``ice``. Part of ``make e2e``.

How Airflow assigns a trigger to a queue (3.3.2, cited in docs/production.md): with
``[triggerer] queues_enabled``, a task that defers on a worker registers its trigger with the task's
own ``queue`` (``airflow.sdk.execution_time.task_runner._defer_task``); a triggerer started with
``--queues`` runs only triggers of those queues, one started without it only triggers with no queue
(``Trigger.ids_for_triggerer``, ``Trigger.get_sorted_triggers``). A ``start_from_trigger`` task never
reaches a worker: the scheduler makes its trigger (``TaskInstance.defer_task``) with no queue, so it
runs on a triggerer started without ``--queues``, whatever the task's queue. This test holds all three
facts: if Airflow starts carrying the queue for ``start_from_trigger``, it fails and the docs change.

Three triggerers, each its own process, each naming its own host (``job.hostname``):
``triggerer-ice`` (``--queues ice``), ``triggerer-default`` (``--queues default``: with queues
enabled, a task on the default queue defers into the ``default`` trigger queue) and
``triggerer-unqueued`` (no ``--queues``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from airflow_provider_ice.testing.emulator import IceEmulatorProcess
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS
from tests.e2e.services import AirflowStack, load_dag_file

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
if not AIRFLOW_V_3_3_PLUS:
    # trigger queues are 3.2+; the DAG's start_from_trigger sensors need 3.3
    pytest.skip("trigger queues need Airflow >= 3.2, this DAG's start_from_trigger 3.3", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAGS = os.path.join(ROOT, "tests", "dags_queues")
dag_file = load_dag_file(os.path.join(DAGS, "ice_trigger_queues.py"))

TRIGGERERS = {
    "triggerer-ice": ["triggerer", "--skip-serve-logs", "--queues", "ice"],
    "triggerer-default": ["triggerer", "--skip-serve-logs", "--queues", "default"],
    "triggerer-unqueued": ["triggerer", "--skip-serve-logs"],
}
DAG_ID = "ice_trigger_queues"
DEADLINE = 480
WAITS = len(dag_file.DEFERRED_ICE) + 1 + len(dag_file.FROM_TRIGGER_ICE) + len(dag_file.DEFERRED_DEFAULT)
HELD = [*dag_file.DEFERRED_ICE, *dag_file.FROM_TRIGGER_ICE, *dag_file.DEFERRED_DEFAULT]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    emulator = IceEmulatorProcess()
    stack: AirflowStack | None = None
    try:
        emulator.start()
        hold = time.time() + 3600  # every ICE task runs until the test has seen where each wait runs
        for ice_id in HELD:
            emulator.add_workflow(f"wf-{ice_id}", finish_at=hold, outputs={"video": f"oss://out/{ice_id}.mp4"})
            emulator.add_task(f"wf-{ice_id}", task_id=ice_id)
        emulator.add_workflow("wf-queues-operator", finish_at=hold, outputs={"video": "oss://out/op.mp4"})
        home = str(tmp_path_factory.mktemp("airflow-queues"))
        components = {"api-server": ["api-server"], "scheduler": ["scheduler"], "dag-processor": ["dag-processor"]}
        stack = AirflowStack(home, DAGS, {}, {**components, **TRIGGERERS})
        stack.env.update(
            {
                "AIRFLOW__TRIGGERER__QUEUES_ENABLED": "True",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.e2e.hostname.from_env",
                "PYTHONPATH": ROOT,
            }
        )
        stack.component_env = {name: {"ICE_E2E_HOSTNAME": name} for name in stack.components}
        stack.start(connections=(emulator.connections_add_args(),))
        yield stack, emulator
    finally:
        try:
            if stack is not None:
                stack.stop_showing_logs()
        finally:
            emulator.stop()


def placements(stack: AirflowStack) -> dict[str, tuple[str | None, str]]:
    """Each deferred wait (task id, with its map index) -> (its trigger's queue, the triggerer's host)."""
    rows = stack.query(
        "select ti.task_id, ti.map_index, t.queue, j.hostname from task_instance ti"
        " join trigger t on t.id = ti.trigger_id join job j on j.id = t.triggerer_id"
        " where ti.dag_id = :d and ti.state = 'deferred'",
        d=DAG_ID,
    )
    return {f"{task_id}[{index}]" if index >= 0 else task_id: (queue, host) for task_id, index, queue, host in rows}


def polls(emulator: IceEmulatorProcess) -> dict[str, int]:
    rows = emulator.call_counts()
    return {r["task_id"]: r["count"] for r in rows if r["action"] == "GetAIWorkflowTask" and r["task_id"]}


def expected(wait: str) -> tuple[str | None, str]:
    if wait.startswith(("deferred_ice", "operator_ice")):
        return "ice", "triggerer-ice"
    if wait.startswith("from_trigger_ice"):
        return None, "triggerer-unqueued"  # Airflow gives start_from_trigger no queue (module docstring)
    return "default", "triggerer-default"


def test_ice_waits_run_on_the_triggerer_serving_their_queue(deployment):
    stack, emulator = deployment
    parsed = lambda: stack.query("select 1 from dag where dag_id = :d", d=DAG_ID)  # noqa: E731
    stack.wait_for("the dag-processor to parse the DAG", parsed, DEADLINE)
    stack.airflow("dags", "unpause", DAG_ID)
    stack.airflow("dags", "trigger", DAG_ID)

    def all_placed() -> dict[str, tuple[str | None, str]] | None:
        found = placements(stack)
        return found if len(found) == WAITS else None

    def describe() -> Any:
        return {"placed": placements(stack), "states": stack.query("select task_id, state from task_instance")}

    placed = stack.wait_for(f"all {WAITS} waits deferred and held by a triggerer", all_placed, DEADLINE, describe)
    assert placed == {wait: expected(wait) for wait in placed}, placed
    # and they run there: every held ICE task is polled again from its trigger (a trigger that no
    # triggerer serves is never polled)
    before = polls(emulator)
    stack.wait_for(
        "every held ICE task polled twice more",
        lambda: all(polls(emulator).get(ice_id, 0) >= before.get(ice_id, 0) + 2 for ice_id in HELD),
        120,
        describe,
    )
    assert placements(stack) == placed  # nobody took a trigger over meanwhile

    for ice_id in HELD:
        emulator.update_workflow(f"wf-{ice_id}", finish_at=time.time())
    emulator.update_workflow("wf-queues-operator", finish_at=time.time())
    stack.wait_for(
        "the DAG run to succeed",
        lambda: stack.query("select 1 from dag_run where dag_id = :d and state = 'success'", d=DAG_ID),
        DEADLINE,
        describe,
    )
