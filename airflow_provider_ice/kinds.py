"""The ICE job kinds, described by data (after botocore's waiter models): for each family, how a job
is submitted, where its id comes back, how it is read, where its status sits, what each documented
status means, where a failed job's error is and what goes to XCom. AI workflows are described here
(their statuses are the public :class:`IceWorkflowTaskStatus`); the other kinds are models in
``kinds.json``, each citing its ICE pages. The one place in the runtime package where an ICE status
is spelled; one wait (``waiting.Wait``), one trigger and one XCom writer serve every kind. Cheap to
import (no Airflow, no SDK: a small JSON file read once).

Sources: each family's Get* API page on ICE's API reference (``api-ice-2020-11-09-<action>``) and
the SDK's model docstrings (alibabacloud-ice20201109 6.20, ICE's API reference): the statuses a
Get* answer documents. A status outside a kind's lists is warned about once and polled on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class IceWorkflowTaskStatus(StrEnum):
    """Status of an AI workflow task as GetAIWorkflowTask reports it."""

    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"
    PARTIAL_SUCCEEDED = "partial-succeeded"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class SubJobs:
    """Where a kind's sub-jobs are, for a parent whose final status says nothing of success (a batch
    media producing job ends ``Finished`` whatever its sub-jobs did).

    :param list_field: the parent's field listing them (``SubJobList``).
    :param id_field: a sub-job's id field.
    :param status_field: a sub-job's status field.
    :param success: a sub-job's final statuses that are a success (any other is not).
    :param error_fields: a failed sub-job's error code and message fields.
    """

    list_field: str
    id_field: str
    status_field: str
    success: frozenset[str]
    error_fields: tuple[str, str]


@dataclass(frozen=True)
class JobKind:
    """One ICE job family.

    :param name: the kind's name in trigger kwargs and messages (``media_convert``).
    :param noun: what messages call one job (``ICE MediaConvert job``).
    :param label: what the console hint calls one (``MediaConvert job``).
    :param submit_action: the action that creates a job (billed: resent only with an idempotency key).
    :param submit_id_path: where the new id sits in the submit answer (``("Job", "JobId")``).
    :param get_action: the action that reads a job.
    :param id_param: the id's parameter name in the get action (and the stop action).
    :param record_key: the object of the get answer that is the job (``Job``).
    :param status_field: the status's field in that object (``State``).
    :param running: documented statuses of a job that may still change.
    :param success: documented final statuses that are a success.
    :param failure: documented final statuses that are a failure.
    :param partial: final statuses that are a success only with ``accept_partial_success``; default none.
    :param settled: final statuses that say nothing of success: the sub-jobs decide (all succeeded: a
        success; some: a partial success; none: a failure); default none.
    :param sub_jobs: where the sub-jobs are (:class:`SubJobs`); default None: the kind has none.
    :param error_fields: the (dotted) paths of a failed job's error code and message; default None:
        the family has none.
    :param nodes_field: the field of per-node results whose failed nodes say why a job failed
        (``ActivityResults``); default None.
    :param form_params: the submit's parameters the SDK sends in a form body (not the query);
        default none.
    :param json_fields: fields typed as strings holding JSON (decoded for XCom); default none.
    :param result_fields: the fields of the job that go to XCom as ``return_value``; default none:
        the kind's record decides, as the AI-workflow task does.
    :param lineage: the dotted paths of the job's fields that name the OSS objects it reads, and of
        those naming what it writes; default none: the kind's record decides, as the AI-workflow task does.
    :param id_xcom_key: the XCom key of the id the submitting operator pushes (and the sensor's id
        parameter); default ``job_id``.
    :param stop_action: the action that stops a job; default None: the family has none.
    :param client_token: whether the submit action takes ``ClientToken`` (ICE's idempotency key);
        default False.
    :param max_submit_rate: the submit action's documented quota (calls a second); default None: ICE
        publishes none.
    """

    name: str
    noun: str
    label: str
    submit_action: str
    submit_id_path: tuple[str, ...]
    get_action: str
    id_param: str
    record_key: str
    status_field: str
    running: frozenset[str]
    success: frozenset[str]
    failure: frozenset[str]
    partial: frozenset[str] = frozenset()
    settled: frozenset[str] = frozenset()
    sub_jobs: SubJobs | None = None
    error_fields: tuple[str, str] | None = None
    nodes_field: str | None = None
    form_params: tuple[str, ...] = ()
    json_fields: tuple[str, ...] = ()
    result_fields: tuple[str, ...] = ()
    lineage: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    id_xcom_key: str = "job_id"
    stop_action: str | None = None
    client_token: bool = False
    max_submit_rate: float | None = None

    @property
    def terminal(self) -> frozenset[str]:
        """The documented final statuses: the job will not change again."""
        return self.success | self.failure | self.partial | self.settled

    @property
    def unit(self) -> str:
        """What one job is called in a short message: the last word of ``label`` (``task``, ``job``)."""
        return self.label.rpartition(" ")[2]

    @property
    def documented(self) -> frozenset[str]:
        """Every status ICE documents for the kind."""
        return self.running | self.terminal


_S = IceWorkflowTaskStatus

#: AI workflows (StartAIWorkflow / GetAIWorkflowTask): ICE's StartAIWorkflow and GetAIWorkflowTask pages.
AI_WORKFLOW = JobKind(
    name="ai_workflow",
    noun="ICE workflow task",
    label="AI workflow task",
    submit_action="StartAIWorkflow",
    submit_id_path=("TaskId",),
    get_action="GetAIWorkflowTask",
    id_param="TaskId",
    record_key="WorkflowTask",
    status_field="Status",
    running=frozenset({_S.RUNNING}),
    success=frozenset({_S.SUCCEEDED}),
    failure=frozenset({_S.FAILED, _S.STOPPED}),
    partial=frozenset({_S.PARTIAL_SUCCEEDED}),
    json_fields=("Inputs", "Outputs", "NodeResults", "UserData"),
    id_xcom_key="workflow_task_id",
    stop_action="StopAIWorkflowTask",
)


def _from_model(name: str, model: dict[str, Any]) -> JobKind:
    """A kind from its entry in ``kinds.json``."""
    submit, get, statuses = model["submit"], model["get"], model["statuses"]
    error_fields, sub = model.get("error_fields"), model.get("sub_jobs")
    lineage = model.get("lineage", {})
    sub_jobs = None
    if sub is not None:
        sub_jobs = SubJobs(
            sub["list_field"],
            sub["id_field"],
            sub["status_field"],
            frozenset(sub["success"]),
            tuple(sub["error_fields"]),
        )
    return JobKind(
        name=name,
        noun=model["noun"],
        label=model["label"],
        submit_action=submit["action"],
        submit_id_path=tuple(submit["id_path"]),
        get_action=get["action"],
        id_param=get["id_param"],
        record_key=get["record_key"],
        status_field=get["status_field"],
        running=frozenset(statuses["running"]),
        success=frozenset(statuses["success"]),
        failure=frozenset(statuses["failure"]),
        partial=frozenset(statuses.get("partial", ())),
        settled=frozenset(statuses.get("settled", ())),
        sub_jobs=sub_jobs,
        error_fields=None if error_fields is None else (error_fields[0], error_fields[1]),
        nodes_field=model.get("nodes_field"),
        form_params=tuple(submit.get("form_params", ())),
        json_fields=tuple(model.get("json_fields", ())),
        result_fields=tuple(model.get("result_fields", ())),
        lineage=(tuple(lineage.get("inputs", ())), tuple(lineage.get("outputs", ()))),
        id_xcom_key=model.get("id_xcom_key", "job_id"),
        stop_action=model.get("stop_action"),
        client_token=bool(submit.get("client_token")),
        max_submit_rate=submit.get("max_rate"),
    )


def _load() -> dict[str, JobKind]:
    with open(os.path.join(os.path.dirname(__file__), "kinds.json"), encoding="utf-8") as f:
        models = json.load(f)
    return {name: _from_model(name, model) for name, model in models.items() if not name.startswith("_")}


_MODELED = _load()
#: Media producing (editing and rendering): SubmitMediaProducingJob / GetMediaProducingJob.
MEDIA_PRODUCING = _MODELED["media_producing"]
#: MediaConvert (ICE's current transcoding): SubmitMediaConvertJob / GetMediaConvertJob.
MEDIA_CONVERT = _MODELED["media_convert"]
#: Batch media producing (many variants at once): SubmitBatchMediaProducingJob / GetBatchMediaProducingJob.
BATCH_MEDIA_PRODUCING = _MODELED["batch_media_producing"]
#: Snapshots: SubmitSnapshotJob / GetSnapshotJob.
SNAPSHOT = _MODELED["snapshot"]
#: Media workflows (template workflows, not AI): StartWorkflow / GetWorkflowTask.
MEDIA_WORKFLOW = _MODELED["media_workflow"]

#: Every kind by name (a trigger's ``kind`` kwarg).
KINDS: dict[str, JobKind] = {AI_WORKFLOW.name: AI_WORKFLOW, **_MODELED}
#: The actions that create a billed job: resent only when ICE certainly did not run them, or with
#: their ClientToken (``client.errors.may_retry``).
SUBMIT_ACTIONS: frozenset[str] = frozenset(kind.submit_action for kind in KINDS.values())
#: The submit actions that take a ClientToken (ICE's idempotency key): resent only with one.
KEYED_ACTIONS: frozenset[str] = frozenset(kind.submit_action for kind in KINDS.values() if kind.client_token)
#: Submit actions with parameters the SDK sends in a form body -> those parameters.
FORM_PARAMS: dict[str, frozenset[str]] = {
    kind.submit_action: frozenset(kind.form_params) for kind in KINDS.values() if kind.form_params
}
#: Actions whose quota ICE publishes (calls a second per account): each caps its limiter.
DOCUMENTED_QUOTAS: dict[str, float] = {
    kind.submit_action: kind.max_submit_rate for kind in KINDS.values() if kind.max_submit_rate is not None
}


def kind_named(name: str) -> JobKind:
    """The kind called ``name``; a ``ValueError`` naming the known ones otherwise.

    :param name: a kind's name (``media_convert``…).
    """
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {name!r}") from None
