"""Render a video with an ICE media producing job, then transcode it with MediaConvert: each job
waits in the triggerer, and the second reads the first one's result from XCom.

Needs an ``alibaba_cloud_ice`` connection (``ice_default``) only when it runs: parsing this file
imports no SDK and makes no call. Trigger with ``{"project_id": "<your editing project id>"}``.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_ice.operators.media import IceSubmitMediaConvertJobOperator, IceSubmitMediaProducingJobOperator

with DAG(
    dag_id="example_ice_media",
    schedule=None,
    catchup=False,
    tags=["example", "alibaba", "ice"],
    params={
        "project_id": Param("demo-project", type="string", description="ICE editing project id"),
        "bucket": Param("my-bucket", type="string", description="OSS bucket for the outputs"),
    },
) as dag:
    # [START howto_operator_media_producing]
    render = IceSubmitMediaProducingJobOperator(
        task_id="render",
        project_id="{{ params.project_id }}",
        output_media_config={"MediaURL": "oss://{{ params.bucket }}/cuts/{{ run_id | replace(':', '-') }}.mp4"},
        output_media_target="oss-object",
        user_data={"airflow_run_id": "{{ run_id }}"},
        deferrable=True,
        poll_interval=5,
        timeout=6 * 3600,
    )
    # [END howto_operator_media_producing]

    # [START howto_operator_media_convert]
    transcode = IceSubmitMediaConvertJobOperator(
        task_id="transcode",
        config={
            "Inputs": [
                {
                    "Name": "cut",
                    "InputFile": {"Type": "OSS", "Media": "{{ ti.xcom_pull(task_ids='render')['MediaURL'] }}"},
                }
            ],
            "Outputs": [
                {
                    "Name": "720p",
                    "OutputFile": {
                        "Type": "OSS",
                        "Media": "oss://{{ params.bucket }}/720p/{{ ti.run_id | replace(':', '-') }}.mp4",
                    },
                    "TemplateId": "S00000001-200030",
                }
            ],
        },
        deferrable=True,
        poll_interval=5,
        timeout=6 * 3600,
    )
    # [END howto_operator_media_convert]

    # [START howto_read_media_xcom]
    @task(multiple_outputs=False)
    def report(ti: Any = None) -> dict[str, Any]:
        """What each job left in XCom: the render's MediaURL, the transcode's job and status."""
        return {
            "rendered": ti.xcom_pull(task_ids="render")["MediaURL"],
            "transcode_job": ti.xcom_pull(task_ids="transcode", key="job_id"),
            "transcode_status": ti.xcom_pull(task_ids="transcode", key="status"),
        }

    # [END howto_read_media_xcom]

    render >> transcode >> report()
