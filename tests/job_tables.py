"""The ICE job kinds as the tests know them, spelled here from ICE's own Get* and Submit* pages (not
read from the provider's kinds table): statuses, actions, the id's names, sample submit parameters."""

from __future__ import annotations

#: (success, failures, running statuses) per kind, from each Get* page. A batch ends ``Finished``
#: whatever its sub-jobs did: its failures come from its sub-jobs (tests/test_more_jobs.py).
STATUSES = {
    "media_producing": ("Success", ("Failed",), ("Init", "Queuing", "Processing")),
    "media_convert": ("Complete", ("Error", "Cancelled"), ("Inited", "Running")),
    "batch_media_producing": ("Finished", (), ("Init", "Processing")),
    "snapshot": ("Success", ("Fail",), ("Init",)),
    "media_workflow": ("Succeed", ("Failed", "Canceled"), ("Init", "Processing")),
}
GET = {
    "media_producing": "GetMediaProducingJob",
    "media_convert": "GetMediaConvertJob",
    "batch_media_producing": "GetBatchMediaProducingJob",
    "snapshot": "GetSnapshotJob",
    "media_workflow": "GetWorkflowTask",
}
SUBMIT = {
    "media_producing": "SubmitMediaProducingJob",
    "media_convert": "SubmitMediaConvertJob",
    "batch_media_producing": "SubmitBatchMediaProducingJob",
    "snapshot": "SubmitSnapshotJob",
    "media_workflow": "StartWorkflow",
}
#: The kinds whose submit takes a ClientToken (each Submit* page): the others are never resent.
KEYED = ("media_producing", "media_convert", "batch_media_producing")
#: The id's field in the job's record (and return_value), and the operator's XCom key for it.
ID_FIELD = {kind: "TaskId" if kind == "media_workflow" else "JobId" for kind in STATUSES}
ID_XCOM = {kind: "workflow_task_id" if kind == "media_workflow" else "job_id" for kind in STATUSES}
#: A job's submit parameters, as ICE got them.
PARAMS = {
    "media_producing": {"ProjectId": "proj-1", "OutputMediaConfig": '{"MediaURL": "oss://media-out/cut.mp4"}'},
    "media_convert": {"Config": '{"Inputs": [], "Outputs": []}', "PipelineId": "pipe-1"},
    "batch_media_producing": {
        "InputConfig": '{"MediaGroupArray": [{"GroupName": "g", "MediaArray": ["oss://media-in/a.mp4"]}]}',
        "OutputConfig": '{"MediaURL": "oss://media-out/v{index}.mp4", "Count": 2}',
    },
    "snapshot": {
        "Input": '{"Type": "OSS", "Media": "oss://media-in/talk.mp4"}',
        "Output": '{"Type": "OSS", "Media": "oss://media-out/cover.jpg"}',
        "TemplateConfig": '{"TemplateId": "tpl-snap"}',
    },
    "media_workflow": {"WorkflowId": "wf-1", "TaskInput": '{"Type": "OSS", "Media": "oss://media-in/talk.mp4"}'},
}


def failure_text(kind: str, final: str, code: str, message: str) -> str:
    """What the failure message says of a failed job: ICE's error code and message, or for a media
    workflow task (no error fields) the failed activity with its message."""
    if kind == "media_workflow":
        return f"ended with status {final!r}; failed nodes: Transcode ({message})"
    return f"ended with status {final!r}; error {code}: {message}"
