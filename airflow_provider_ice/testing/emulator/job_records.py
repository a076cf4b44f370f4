"""The job object of each emulated family's answers, with the fields its Get* page shows (the
submit parameters echoed where the page echoes them). Sources and assumptions: :mod:`.jobs` and
``families.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

#: A ``jobs.EmulatedJob`` (not imported: that module imports this one).
EmulatedJob = Any


def iso(ts: float | None) -> str:
    """ICE's time text (UTC, ISO 8601 to the second); ``""`` for none."""
    return "" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def record_of(job: EmulatedJob) -> dict[str, Any]:
    """The job object of a Get* answer (and of a submit answer that carries it)."""
    family = job.family
    ended, failed = job.finished is not None, job.finished is not None and job.status in family.failures
    record: dict[str, Any] = {family.id_param: job.job_id, family.status_field: job.status}
    record.update(_RECORDS[family.name](job, ended, failed))
    record.setdefault("UserData", job.params.get("UserData", ""))
    record.setdefault("CreateTime", iso(job.created))
    if ended:
        record.update(job.plan.result)
    return record


def _error(job: EmulatedJob, failed: bool) -> dict[str, str]:
    return {"Code": job.plan.error_code if failed else "", "Message": job.plan.error_message if failed else ""}


def _media_producing(job: EmulatedJob, ended: bool, failed: bool) -> dict[str, Any]:
    params = job.params
    record = {
        **_error(job, failed),
        "ProjectId": params.get("ProjectId", ""),
        "TemplateId": params.get("TemplateId", ""),
        "ClipsParam": params.get("ClipsParam", ""),
        "Timeline": params.get("Timeline", ""),
        "ModifiedTime": iso(job.finished or job.created),
        "CompleteTime": iso(job.finished),
        "Progress": 100 if ended else 50,
    }
    if ended and not failed:
        record["MediaURL"] = _json(params.get("OutputMediaConfig")).get("MediaURL", "")
    return record


def _media_convert(job: EmulatedJob, ended: bool, failed: bool) -> dict[str, Any]:
    """GetMediaConvertJob: the Config echoed; once the job completed, an ``OutputDetails`` entry per
    ``Config.Outputs`` entry with its ``Result.OutputFile`` (the SDK's MediaConvertOutputDetail;
    assumed: its Status is ``Success``)."""
    params, config = job.params, _json(job.params.get("Config"))
    record: dict[str, Any] = {
        **_error(job, failed),
        "ClientToken": params.get("ClientToken", ""),
        "PipelineId": params.get("PipelineId", ""),
        "Config": config,
        "FinishTime": iso(job.finished),
        "Percent": 100 if ended else 50,
    }
    outputs = config.get("Outputs") if isinstance(config, dict) else None
    if ended and not failed and isinstance(outputs, list):
        record["OutputDetails"] = [
            {
                "Name": output.get("Name", ""),
                "Status": "Success",
                "TaskId": f"{job.job_id}-{index}",
                "Result": {"OutputFile": dict(output.get("OutputFile") or {})},
            }
            for index, output in enumerate(outputs, start=1)
            if isinstance(output, dict)
        ]
    return record


def _batch_media_producing(job: EmulatedJob, ended: bool, failed: bool) -> dict[str, Any]:
    """GetBatchMediaProducingJob: the configs echoed as strings, one sub-job per video (each a
    media producing job: ``MediaURL`` from ``OutputConfig.MediaURL``'s ``{index}``)."""
    params, family, plan = job.params, job.family, job.plan
    output = _json(params.get("OutputConfig"))
    count = int(output.get("Count") or 2) if isinstance(output, dict) else 2
    finals = plan.sub_jobs if plan.sub_jobs is not None else [family.sub_job_success] * count
    url = str(output.get("MediaURL", "")) if isinstance(output, dict) else ""
    subs = []
    for index, final in enumerate(finals, start=1):
        sub: dict[str, Any] = {"JobId": f"{job.job_id}-{index}", "Status": family.sub_job_running[-1]}
        if ended:
            sub["Status"] = final
            if final == family.sub_job_success:
                sub.update(MediaId=f"media-{job.job_id}-{index}", MediaURL=url.replace("{index}", str(index)))
                sub["Duration"] = 12.5
            elif final == family.sub_job_failure:
                sub.update(ErrorCode=plan.error_code, ErrorMessage=plan.error_message)
        subs.append(sub)
    return {
        "JobType": "Script",
        "InputConfig": params.get("InputConfig", ""),
        "EditingConfig": params.get("EditingConfig", ""),
        "OutputConfig": params.get("OutputConfig", ""),
        "Extend": "{}",
        "SubJobList": subs,
        "ModifiedTime": iso(job.finished or job.created),
        "CompleteTime": iso(job.finished),
    }


def _snapshot(job: EmulatedJob, ended: bool, failed: bool) -> dict[str, Any]:
    """GetSnapshotJob: Input and Output as objects, the template's id and config."""
    params = job.params
    template = _json(params.get("TemplateConfig"))
    return {
        **_error(job, failed),
        "Name": params.get("Name", ""),
        "Input": _json(params.get("Input")),
        "Output": _json(params.get("Output")),
        "TemplateId": template.get("TemplateId", "") if isinstance(template, dict) else "",
        "TemplateConfig": params.get("TemplateConfig", ""),
        "PipelineId": "",
        "Type": "Normal",
        "Count": 1 if ended and not failed else 0,
        "Async": True,
        "TriggerSource": "API",
        "SubmitTime": iso(job.created),
        "FinishTime": iso(job.finished),
        "ModifiedTime": iso(job.finished or job.created),
    }


def _media_workflow(job: EmulatedJob, ended: bool, failed: bool) -> dict[str, Any]:
    """GetWorkflowTask: the task's input and the template, ActivityResults per activity (its shape
    is an assumption, families.json)."""
    params, status = job.params, job.status
    activities = {"Start": {"Name": "Start", "Type": "Start", "Status": "Success"}}
    if ended:
        last: dict[str, Any] = {"Name": "Transcode", "Type": "Transcode", "Status": "Success"}
        if failed:
            last.update(Status="Fail", Code=job.plan.error_code, Message=job.plan.error_message)
        activities["Transcode"] = last
    return {
        "TaskInput": params.get("TaskInput", ""),
        "ActivityResults": json.dumps(activities) if status else "",
        "FinishTime": iso(job.finished),
        "Workflow": {
            "WorkflowId": params.get("WorkflowId", ""),
            "Name": "transcode-and-snapshot",
            "Status": "Active",
            "Type": "Customize",
            "CreateTime": iso(job.created),
            "ModifiedTime": iso(job.created),
        },
    }


_RECORDS: dict[str, Callable[[EmulatedJob, bool, bool], dict[str, Any]]] = {
    "media_producing": _media_producing,
    "media_convert": _media_convert,
    "batch_media_producing": _batch_media_producing,
    "snapshot": _snapshot,
    "media_workflow": _media_workflow,
}
