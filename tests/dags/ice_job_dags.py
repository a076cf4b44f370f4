"""DAGs the job-kind tests run with dag.test(): a sensor per kind and mode, an operator per kind
and way of waiting. dag_id ``ice_job_<kind>_<mode>`` (the id from the ``job_id`` param; a batch's
sensor also ``_partial``, accepting a partial success) and ``ice_submit_<kind>_<wait>``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_ice.operators.batch import IceSubmitBatchMediaProducingJobOperator
from airflow_provider_ice.operators.media import IceSubmitMediaConvertJobOperator, IceSubmitMediaProducingJobOperator
from airflow_provider_ice.operators.snapshot import IceSubmitSnapshotJobOperator
from airflow_provider_ice.operators.workflow import IceStartMediaWorkflowOperator
from airflow_provider_ice.sensors.media import (
    IceBatchMediaProducingJobSensor,
    IceMediaConvertJobSensor,
    IceMediaProducingJobSensor,
    IceMediaWorkflowTaskSensor,
    IceSnapshotJobSensor,
)
from airflow_provider_ice.version_compat import AIRFLOW_V_3_0

MODES = ("poke", "deferrable") if AIRFLOW_V_3_0 else ("poke", "reschedule", "deferrable")
SENSORS: dict[str, Any] = {
    "media_producing": IceMediaProducingJobSensor,
    "media_convert": IceMediaConvertJobSensor,
    "batch_media_producing": IceBatchMediaProducingJobSensor,
    "snapshot": IceSnapshotJobSensor,
    "media_workflow": IceMediaWorkflowTaskSensor,
}
CONFIG = {
    "Inputs": [{"Name": "in", "InputFile": {"Type": "OSS", "Media": "oss://media-in/raw/talk.mp4"}}],
    "Outputs": [{"Name": "hd", "OutputFile": {"Type": "OSS", "Media": "oss://media-out/hd/talk.mp4"}}],
}
OUTPUT_MEDIA = {"MediaURL": "https://media-out.oss-cn-shanghai.aliyuncs.com/cut/talk.mp4"}
TALK = {"Type": "OSS", "Media": "oss://media-in/raw/talk.mp4"}


def _submit(kind: str, common: dict[str, Any]) -> Any:
    """The kind's submitting operator with sample parameters."""
    if kind == "media_convert":
        return IceSubmitMediaConvertJobOperator(config=CONFIG, pipeline_id="pipe-1", **common)
    if kind == "media_producing":
        return IceSubmitMediaProducingJobOperator(
            project_id="proj-1", output_media_config=OUTPUT_MEDIA, output_media_target="oss-object", **common
        )
    if kind == "batch_media_producing":
        return IceSubmitBatchMediaProducingJobOperator(
            input_config={"MediaGroupArray": [{"GroupName": "g", "MediaArray": [TALK["Media"]]}]},
            output_config={"MediaURL": "oss://media-out/v{index}.mp4", "Count": 2},
            **common,
        )
    if kind == "snapshot":
        output = {"Type": "OSS", "Media": "oss://media-out/cover.jpg"}
        return IceSubmitSnapshotJobOperator(
            input_file=TALK, output_file=output, template_config={"TemplateId": "tpl-snap"}, **common
        )
    return IceStartMediaWorkflowOperator(workflow_id="wf-1", task_input=TALK, **common)


def _reader(task_id: str, id_key: str) -> Any:
    # One XCom (a dict return would be split per key, and Airflow 3.0 rejects a None one).
    @task(task_id="read", multiple_outputs=False)
    def read(ti: Any = None) -> dict[str, Any]:
        return {"id": ti.xcom_pull(task_ids=task_id, key=id_key), "result": ti.xcom_pull(task_ids=task_id)}

    return read()


def sensor_dag(kind: str, mode: str, accept_partial_success: bool = False) -> DAG:
    dag_id = f"ice_job_{kind}_{mode}{'_partial' if accept_partial_success else ''}"
    id_param = "workflow_task_id" if kind == "media_workflow" else "job_id"
    with DAG(dag_id, schedule=None, params={"job_id": ""}) as dag:
        wait = SENSORS[kind](
            task_id="wait",
            **{id_param: "{{ params.job_id }}"},
            accept_partial_success=accept_partial_success,
            deferrable=mode == "deferrable",
            mode="reschedule" if mode == "reschedule" else "poke",
            poke_interval=0.1,
            timeout=60,
            retries=1,  # a failed ICE job must not be retried: the verdict cannot change
            retry_delay=timedelta(seconds=0.1),
        )
        wait >> _reader("wait", "status")
    return dag


def operator_dag(kind: str, deferrable: bool) -> DAG:
    with DAG(f"ice_submit_{kind}_{'deferrable' if deferrable else 'sync'}", schedule=None) as dag:
        common: dict[str, Any] = {
            "task_id": "submit",
            "deferrable": deferrable,
            "poll_interval": 0.1,
            "timeout": 60,
            "retries": 1,
            "retry_delay": timedelta(seconds=0.1),
            "user_data": {"run": "{{ run_id }}"},
        }
        id_key = "workflow_task_id" if kind == "media_workflow" else "job_id"
        _submit(kind, common) >> _reader("submit", id_key)
    return dag


for _kind in SENSORS:
    for _mode in MODES:
        globals()[f"dag_{_kind}_{_mode}"] = sensor_dag(_kind, _mode)
    for _deferrable in (False, True):
        globals()[f"dag_submit_{_kind}_{_deferrable}"] = operator_dag(_kind, _deferrable)
dag_batch_partial = sensor_dag("batch_media_producing", "poke", accept_partial_success=True)
