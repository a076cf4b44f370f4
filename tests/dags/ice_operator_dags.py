"""DAGs the start-operator tests run with dag.test()."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator


def build(dag_id: str, workflow_id: str = "wf", **operator_kwargs: Any) -> DAG:
    with DAG(dag_id, schedule=None, params={"lang": "en"}) as dag:
        start = IceStartAIWorkflowOperator(
            task_id="start",
            workflow_id=workflow_id,
            inputs={"lang": "{{ params.lang }}", "run": "{{ run_id }}"},
            user_data={"dag": "{{ dag.dag_id }}"},
            poll_interval=0.1,
            timeout=60,
            retries=1,
            retry_delay=timedelta(seconds=0.1),
            **operator_kwargs,
        )

        # One XCom (a dict return would be split per key, and Airflow 3.0 rejects a None one).
        @task(multiple_outputs=False)
        def read(ti: Any = None) -> dict[str, Any]:
            return {
                "task_id": ti.xcom_pull(task_ids="start", key="workflow_task_id"),
                "outputs": ti.xcom_pull(task_ids="start"),
                "node_results": ti.xcom_pull(task_ids="start", key="node_results"),
            }

        start >> read()
    return dag


ice_start_sync = build("ice_start_sync", deferrable=False)
ice_start_deferrable = build("ice_start_deferrable", deferrable=True)
ice_start_nowait = build("ice_start_nowait", wait_for_completion=False)
ice_start_partial_ok = build("ice_start_partial_ok", deferrable=True, accept_partial_success=True)
# A workflow id that renders with a space: an argument error, which no Airflow retry can fix.
ice_start_bad_argument = build("ice_start_bad_argument", workflow_id="{{ 'two words' }}")
