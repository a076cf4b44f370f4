"""A media pipeline on ICE: an AI workflow makes subtitles, a media producing job burns them into
the video, then MediaConvert makes the renditions while a snapshot job takes the cover. Each step
waits in the triggerer and reads what the step before it left in XCom.

Needs an ``alibaba_cloud_ice`` connection (``ice_default``) only when it runs: parsing this file
imports no SDK and makes no call. Trigger with ``{"workflow_id": "<your subtitles workflow>",
"video": "oss://<bucket>/<video>", "bucket": "<output bucket>"}``; the workflow's Outputs are
expected to name the English subtitle file at ``subtitles.en`` (change ``SUBTITLES`` for yours).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.operators.media import IceSubmitMediaConvertJobOperator, IceSubmitMediaProducingJobOperator
from airflow_provider_ice.operators.snapshot import IceSubmitSnapshotJobOperator

log = logging.getLogger(__name__)
#: Where the subtitles workflow's Outputs name the subtitle file (the workflow's own contract).
SUBTITLES = "{{ ti.xcom_pull(task_ids='subtitles')['subtitles']['en'] }}"
#: The burned-in video, from the media producing job's result (its MediaURL).
BURNED = "{{ ti.xcom_pull(task_ids='burn_in')['MediaURL'] }}"
RUN = "{{ run_id | replace(':', '-') | replace('+', '-') }}"
WAIT: dict[str, Any] = {"deferrable": True, "poll_interval": 5, "timeout": 6 * 3600}

with DAG(
    dag_id="example_ice_pipeline",
    schedule=None,
    catchup=False,
    tags=["example", "alibaba", "ice"],
    params={
        "workflow_id": Param("demo-subtitles", type="string", description="ICE AI workflow making subtitles"),
        "video": Param("oss://my-bucket/talks/keynote.mp4", type="string", description="the source video"),
        "bucket": Param("my-bucket", type="string", description="OSS bucket for the outputs"),
        "snapshot_template": Param("S00000001-100020", type="string", description="ICE snapshot template"),
    },
) as dag:
    # [START howto_pipeline_subtitles]
    subtitles = IceStartAIWorkflowOperator(
        task_id="subtitles",
        workflow_id="{{ params.workflow_id }}",
        inputs={"video_url": "{{ params.video }}", "target_languages": ["en"]},
        user_data={"airflow_run_id": "{{ run_id }}"},
        **WAIT,
    )
    # [END howto_pipeline_subtitles]

    # [START howto_pipeline_burn_in]
    burn_in = IceSubmitMediaProducingJobOperator(
        task_id="burn_in",
        timeline={
            "VideoTracks": [{"VideoTrackClips": [{"MediaURL": "{{ params.video }}"}]}],
            "SubtitleTracks": [{"SubtitleTrackClips": [{"Type": "Subtitle", "SubType": "srt", "FileURL": SUBTITLES}]}],
        },
        output_media_config={"MediaURL": f"oss://{{{{ params.bucket }}}}/burned/{RUN}.mp4"},
        output_media_target="oss-object",
        user_data={"airflow_run_id": "{{ run_id }}"},
        **WAIT,
    )
    # [END howto_pipeline_burn_in]

    # [START howto_pipeline_renditions]
    renditions = IceSubmitMediaConvertJobOperator(
        task_id="renditions",
        config={
            "Inputs": [{"Name": "burned", "InputFile": {"Type": "OSS", "Media": BURNED}}],
            "Outputs": [
                {
                    "Name": name,
                    "OutputFile": {"Type": "OSS", "Media": f"oss://{{{{ params.bucket }}}}/{name}/{RUN}.mp4"},
                    "TemplateId": template,
                }
                for name, template in (("720p", "S00000001-200030"), ("480p", "S00000001-200020"))
            ],
        },
        **WAIT,
    )
    # [END howto_pipeline_renditions]

    # [START howto_pipeline_cover]
    cover = IceSubmitSnapshotJobOperator(
        task_id="cover",
        input_file={"Type": "OSS", "Media": BURNED},
        output_file={"Type": "OSS", "Media": f"oss://{{{{ params.bucket }}}}/covers/{RUN}.jpg"},
        template_config={"TemplateId": "{{ params.snapshot_template }}"},
        **WAIT,
    )
    # [END howto_pipeline_cover]

    # [START howto_pipeline_report]
    # One XCom (a dict return would be split per key, and Airflow 3.0 rejects a None one).
    @task(multiple_outputs=False)
    def report(ti: Any = None) -> dict[str, Any]:
        """What each step left in XCom: the subtitles, the burned-in video, the renditions, the cover."""
        converted = ti.xcom_pull(task_ids="renditions")
        summary = {
            "subtitles": ti.xcom_pull(task_ids="subtitles")["subtitles"]["en"],
            "burned_in": ti.xcom_pull(task_ids="burn_in")["MediaURL"],
            "renditions": [o["Result"]["OutputFile"]["Media"] for o in converted.get("OutputDetails") or []],
            "renditions_job": ti.xcom_pull(task_ids="renditions", key="job_id"),
            "cover": ti.xcom_pull(task_ids="cover")["Output"]["Media"],
            "statuses": {
                t: ti.xcom_pull(task_ids=t, key="status") for t in ("subtitles", "burn_in", "renditions", "cover")
            },
        }
        log.info("ICE pipeline summary: %s", json.dumps(summary, sort_keys=True))
        return summary

    # [END howto_pipeline_report]

    subtitles >> burn_in >> [renditions, cover] >> report()
