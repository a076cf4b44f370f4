"""DAGs the sensor tests run with dag.test(): one per mode and option set.

dag_id ``ice_sensor_<mode>_<variant>``; the ICE TaskId comes from the ``workflow_task_id`` param.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_ice.version_compat import AIRFLOW_V_3_0

# Reschedule mode is refused where Airflow breaks it (3.0): its DAGs are left out there.
MODES = ("poke", "deferrable") if AIRFLOW_V_3_0 else ("poke", "reschedule", "deferrable")
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {"timeout": 60},
    "partial_ok": {"timeout": 60, "accept_partial_success": True},
    "short": {"timeout": 2},
    "short_soft": {"timeout": 2, "soft_fail": True},
    "unreachable": {"timeout": 60, "unreachable_timeout": 0.5},
}


def build(mode: str, variant: str) -> DAG:
    with DAG(f"ice_sensor_{mode}_{variant}", schedule=None, params={"workflow_task_id": ""}) as dag:
        wait = IceWorkflowTaskSensor(
            task_id="wait",
            workflow_task_id="{{ params.workflow_task_id }}",
            deferrable=mode == "deferrable",
            mode="reschedule" if mode == "reschedule" else "poke",
            poke_interval=0.1,
            retries=1,  # a failed ICE task must not be retried: the verdict cannot change
            retry_delay=timedelta(seconds=0.1),
            **VARIANTS[variant],
        )

        # One XCom (a dict return would be split per key, and Airflow 3.0 rejects a None one).
        @task(multiple_outputs=False)
        def summarize(ti: Any = None) -> dict[str, Any]:
            return {
                "outputs": ti.xcom_pull(task_ids="wait"),
                "node_results": ti.xcom_pull(task_ids="wait", key="node_results"),
            }

        wait >> summarize()
    return dag


for _mode in MODES:
    for _variant in VARIANTS:
        globals()[f"dag_{_mode}_{_variant}"] = build(_mode, _variant)


# A template that pulls nothing (task_ids misspelt): it renders "None", which must not reach ICE.
with DAG("ice_sensor_nothing_pulled", schedule=None) as dag_nothing_pulled:
    IceWorkflowTaskSensor(
        task_id="wait",
        workflow_task_id="{{ ti.xcom_pull(task_ids='strat') }}",
        deferrable=True,
        poke_interval=0.1,
        retries=1,
        retry_delay=timedelta(seconds=0.1),
    )
