"""Make video variants with an ICE batch media producing job, keep the ones that were made, and run
an ICE media workflow (a template workflow) on the first of them.

Needs an ``alibaba_cloud_ice`` connection (``ice_default``) only when it runs: parsing this file
imports no SDK and makes no call. Trigger with ``{"bucket": "<output bucket>", "media_workflow_id":
"<your media workflow id>"}``.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_ice.operators.batch import IceSubmitBatchMediaProducingJobOperator
from airflow_provider_ice.operators.workflow import IceStartMediaWorkflowOperator

with DAG(
    dag_id="example_ice_batch",
    schedule=None,
    catchup=False,
    tags=["example", "alibaba", "ice"],
    params={
        "bucket": Param("my-bucket", type="string", description="OSS bucket of the materials and the videos"),
        "media_workflow_id": Param("demo-media-workflow", type="string", description="ICE media workflow id"),
    },
) as dag:
    # [START howto_operator_batch_media_producing]
    variants = IceSubmitBatchMediaProducingJobOperator(
        task_id="variants",
        input_config={
            "MediaGroupArray": [{"GroupName": "opening", "MediaArray": ["oss://{{ params.bucket }}/raw/a.mp4"]}],
            "TitleArray": ["Opening day"],
        },
        output_config={"MediaURL": "oss://{{ params.bucket }}/variants/{{ ds }}-{index}.mp4", "Count": 3},
        accept_partial_success=True,  # keep the videos that were made; the log names the others
        deferrable=True,
        poll_interval=5,
    )
    # [END howto_operator_batch_media_producing]

    # [START howto_read_batch_xcom]
    @task
    def made(ti: Any = None) -> list[str]:
        """The videos the batch made: its sub-jobs that succeeded."""
        subs = ti.xcom_pull(task_ids="variants")["SubJobList"]
        return [sub["MediaURL"] for sub in subs if sub["Status"] == "Success"]

    # [END howto_read_batch_xcom]
    videos = made()

    # [START howto_operator_media_workflow]
    process = IceStartMediaWorkflowOperator(
        task_id="process_first",
        workflow_id="{{ params.media_workflow_id }}",
        task_input={"Type": "OSS", "Media": "{{ ti.xcom_pull(task_ids='made')[0] }}"},
        user_data={"airflow_run_id": "{{ run_id }}"},
        deferrable=True,
        poll_interval=5,
    )
    # [END howto_operator_media_workflow]

    variants >> videos >> process
