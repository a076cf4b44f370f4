"""The emulated ICE job families besides AI workflows: media producing (single and batch),
MediaConvert, snapshots and media workflows. Each family
is spelled here from ICE's own pages (the emulator never reads the provider's kinds table): its
submit and get actions, required parameters, the statuses its Get* page documents, and the fields of
its answers. How the next jobs of a family behave is a :class:`JobPlan` a test sets.

Sources (ICE's API reference, ``help.aliyun.com/zh/ims/developer-reference/api-ice-2020-11-09-<action>``,
whose text the SDK's model docstrings carry): SubmitMediaProducingJob (``OutputMediaConfig``
required; exactly one of ``ProjectId``, ``Timeline``, ``TemplateId``, with ``ClipsParam`` required by
``TemplateId``; ``ClientToken`` "ensures the idempotence of the request"; 30 calls a second per
account), GetMediaProducingJob (``MediaProducingJob.Status``: Init, Queuing, Processing, Success,
Failed; ``Code``/``Message`` "when the job fails"), SubmitMediaConvertJob (``Config`` required;
``ClientToken`` the idempotency key; answers ``Job``), GetMediaConvertJob (``Job.State``: Inited,
Running, Complete, Error, Cancelled; ``Job.Code``/``Job.Message`` of a failed job),
SubmitBatchMediaProducingJob / GetBatchMediaProducingJob (``EditingBatchJob.Status``: Init,
Processing, Finished; ``SubJobList[].Status``: Init, Processing, Success, Failed, with ``ErrorCode``
and ``ErrorMessage`` when failed), SubmitSnapshotJob / GetSnapshotJob (``Input``, ``Output``,
``TemplateConfig`` required; ``SnapshotJob.Status``: Init, Success, Fail), StartWorkflow /
GetWorkflowTask (``WorkflowId`` required; answers ``TaskId``; ``WorkflowTask.Status``: Init,
Processing, Succeed, Failed, Canceled). The answers' records: ``job_records.py``.
Assumptions (ICE does not say): a repeated ClientToken answers the first job, for as long as the
emulator runs; a failed job's code and message are the plan's; each family's ``assumptions`` in
``families.json``.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_ice.testing.emulator.job_records import record_of
from airflow_provider_ice.testing.emulator.records import ApiError


@dataclass(frozen=True)
class JobFamily:
    """One family as ICE documents it (an entry of ``families.json``).

    :param name: its name (``media_convert``).
    :param submit_action: the action that creates a job.
    :param get_action: the action that reads one.
    :param record_key: the job object's key in the answers.
    :param status_field: the status's field in it.
    :param running: the statuses of a job not finished, in order.
    :param success: the final status of a job that succeeded.
    :param failures: the final statuses of a job that did not.
    :param required: the submit's required parameters.
    :param json_params: the submit's parameters that must be JSON.
    :param id_in_record: whether the submit answers the id inside the job object (``Job.JobId``).
    :param one_of: parameters of which a submit must give exactly one; default none.
    :param id_param: the get action's id parameter, and the submit answer's id key; default ``JobId``.
    :param sub_job_running: a batch's sub-jobs' running statuses; default none (no sub-jobs).
    :param sub_job_success: a sub-job's success status; default ``""``.
    :param sub_job_failure: a sub-job's failure status; default ``""``.
    """

    name: str
    submit_action: str
    get_action: str
    record_key: str
    status_field: str
    running: tuple[str, ...]
    success: str
    failures: tuple[str, ...]
    required: tuple[str, ...]
    json_params: tuple[str, ...]
    #: the submit answer: the new job's id at the top (JobId) or inside the job object (Job.JobId)
    id_in_record: bool

    #: parameters of which a submit must give exactly one
    one_of: tuple[str, ...] = ()
    #: the get action's id parameter, and the submit answer's id key
    id_param: str = "JobId"
    #: a batch's sub-jobs: their running statuses, their success and their failure
    sub_job_running: tuple[str, ...] = ()
    sub_job_success: str = ""
    sub_job_failure: str = ""


def _families() -> dict[str, JobFamily]:
    """The families of ``families.json`` (spelled from ICE's pages there, with the sources)."""
    with open(os.path.join(os.path.dirname(__file__), "families.json"), encoding="utf-8") as f:
        models = json.load(f)
    families = {}
    for name, model in models.items():
        if not name.startswith("_"):
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in model.items()}
            fields.pop("sources"), fields.pop("assumptions", None)
            families[name] = JobFamily(name=name, **fields)
    return families


FAMILIES: dict[str, JobFamily] = _families()
#: Each family's actions -> (family, "submit" | "get").
JOB_ACTIONS: dict[str, tuple[JobFamily, str]] = {
    **{f.submit_action: (f, "submit") for f in FAMILIES.values()},
    **{f.get_action: (f, "get") for f in FAMILIES.values()},
}


@dataclass
class JobPlan:
    """How a family's jobs behave: they report ``running_status`` for ``running_polls`` polls
    and/or ``running_seconds`` (or until ``finish_at``, the backend clock's time), then end with
    ``final_status``.

    :param running_polls: Get* calls a job answers a running status to; default 1.
    :param running_seconds: seconds a job runs at least; default 0.
    :param finish_at: the backend clock's time every job ends (overrides the two above); default None.
    :param final_status: default None: the family's success (``Success``, ``Complete``); any string
        (an undocumented one tests how a client copes).
    :param running_status: default None: the family's last running status; any string.
    :param error_code: ``Code`` of a job that ends in a failure status; default ``InvalidParameter``.
    :param error_message: its ``Message``; default a sample.
    :param result: fields the ended job's record carries besides the family's (``MediaURL``…);
        default none.
    :param sub_jobs: a batch's sub-jobs' final statuses, one per sub-job (``["Success", "Failed"]``);
        default None: ``OutputConfig.Count`` (else 2) sub-jobs, all ``Success``. A failed one
        carries ``error_code`` and ``error_message``.
    """

    running_polls: int = 1
    running_seconds: float = 0.0
    finish_at: float | None = None
    final_status: str | None = None
    running_status: str | None = None
    error_code: str = "InvalidParameter"
    error_message: str = "The specified input media could not be read."
    result: dict[str, Any] = field(default_factory=dict)
    sub_jobs: list[str] | None = None


@dataclass
class EmulatedJob:
    """A job the emulator holds.

    :param family: its family.
    :param job_id: its id.
    :param params: the submit's parameters.
    :param plan: how it behaves.
    :param created: the backend clock's time at its submit.
    :param polls: Get* calls so far; default 0.
    :param status: its status now; default ``""`` (set when it is made).
    :param finished: the backend clock's time at its end; default None: it runs.
    """

    family: JobFamily
    job_id: str
    params: dict[str, str]
    plan: JobPlan
    created: float
    polls: int = 0
    status: str = ""
    finished: float | None = None


class JobBook:
    """The jobs of every family, their plans and ClientTokens. Thread-safe.

    :param clock: the time source of lifecycles; default :func:`time.time`.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.plans: dict[str, JobPlan] = {}
        self.jobs: dict[str, EmulatedJob] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        #: submits handled (answered or refused by the family's checks), a delayed one once it is
        self.submits_handled = 0

    def plan(self, family: str, **plan: Any) -> JobPlan:
        """Set how ``family``'s next jobs behave (:class:`JobPlan`'s fields).

        :param family: a family's name (``media_producing``, ``batch_media_producing``, ``media_convert``,
            ``snapshot``, ``media_workflow``).
        :param plan: :class:`JobPlan`'s fields.
        """
        with self._lock:
            self.plans[_family(family).name] = made = JobPlan(**plan)
            return made

    def add(self, family: str, job_id: str | None = None, params: dict[str, str] | None = None, **plan: Any) -> str:
        """Create a job as if its submit action had been called (no call counted); returns its id.

        :param family: its family.
        :param job_id: its id; default None: a random one.
        :param params: its submit parameters; default none.
        :param plan: :class:`JobPlan`'s fields; default the family's plan.
        """
        fam = _family(family)
        with self._lock:
            job_plan = JobPlan(**plan) if plan else self.plans.get(fam.name, JobPlan())
            job_id = job_id or uuid.uuid4().hex
            status = job_plan.running_status or fam.running[-1]
            self.jobs[job_id] = EmulatedJob(fam, job_id, dict(params or {}), job_plan, self._clock(), status=status)
            return job_id

    def snapshot(self) -> list[dict[str, Any]]:
        """Every job: its family, id, status and submit parameters."""
        with self._lock:
            return [
                {"family": j.family.name, "job_id": j.job_id, "status": j.status, "params": dict(j.params)}
                for j in self.jobs.values()
            ]

    def reset(self) -> None:
        """Forget every job, plan and token."""
        with self._lock:
            self.plans.clear()
            self.jobs.clear()
            self._tokens.clear()
            self.submits_handled = 0

    # ---- the actions ------------------------------------------------------------------------

    def answer(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        """Run a family's submit or get action; its answer body (without RequestId).

        :param action: one of the families' actions.
        :param params: the request's parameters.
        :raises ApiError: a parameter missing or not JSON, an unknown JobId.
        """
        family, verb = JOB_ACTIONS[action]
        if verb == "submit":
            return self._submitted(family, self._submit(family, params))
        with self._lock:
            job = self._job(family, params)
            self._advance(job)
            job = copy.deepcopy(job)
        return {family.record_key: record_of(job)}

    def _submit(self, family: JobFamily, params: dict[str, str]) -> EmulatedJob:
        with self._lock:
            self.submits_handled += 1
        for name in family.required:
            if not params.get(name):
                raise ApiError(
                    "MissingParameter",
                    f"The input parameter {name} that is mandatory for processing this request is not supplied.",
                )
        for name in family.json_params:
            if params.get(name):
                try:
                    json.loads(params[name])
                except ValueError:
                    raise ApiError(
                        "InvalidParameter", f"The specified parameter {name} is not valid: not JSON."
                    ) from None
        if family.one_of and len([name for name in family.one_of if params.get(name)]) != 1:
            raise ApiError("InvalidParameter", f"Specify exactly one of {', '.join(family.one_of)}.")
        if params.get("TemplateId") and not params.get("ClipsParam"):  # SubmitMediaProducingJob's page
            raise ApiError("MissingParameter", "ClipsParam is mandatory when TemplateId is specified.")
        token = params.get("ClientToken")
        with self._lock:
            if token and (family.name, token) in self._tokens:
                return copy.deepcopy(self.jobs[self._tokens[(family.name, token)]])
            job_id = self.add(family.name, params=params)
            if token:
                self._tokens[(family.name, token)] = job_id
            return copy.deepcopy(self.jobs[job_id])

    def _submitted(self, family: JobFamily, job: EmulatedJob) -> dict[str, Any]:
        if family.id_in_record:
            return {family.record_key: record_of(job)}
        if family.name == "media_producing":
            return {"JobId": job.job_id, "ProjectId": job.params.get("ProjectId", "")}
        return {family.id_param: job.job_id}

    def _job(self, family: JobFamily, params: dict[str, str]) -> EmulatedJob:
        name = family.id_param
        job_id = params.get(name, "")
        if not job_id:
            raise ApiError(
                "MissingParameter",
                f"The input parameter {name} that is mandatory for processing this request is not supplied.",
            )
        job = self.jobs.get(job_id)
        if job is None or job.family is not family:
            raise ApiError("ResourceNotFound", f"The specified resource {name} {job_id} is not found.")
        return job

    def _advance(self, job: EmulatedJob) -> None:
        if job.finished is not None:
            return
        job.polls += 1
        plan, now = job.plan, self._clock()
        job.status = plan.running_status or job.family.running[-1]
        if plan.finish_at is not None:
            if now < plan.finish_at:
                return
        elif job.polls <= plan.running_polls or now - job.created < plan.running_seconds:
            return
        job.status, job.finished = plan.final_status or job.family.success, now


def _family(name: str) -> JobFamily:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {name!r}") from None
