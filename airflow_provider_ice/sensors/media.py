"""Sensors for ICE's media jobs: media producing (editing and rendering), batch media producing,
MediaConvert (transcoding), snapshots and media workflow tasks. Each is
:class:`~airflow_provider_ice.sensors.job.IceJobSensor` with its kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_ice.kinds import (
    BATCH_MEDIA_PRODUCING,
    MEDIA_CONVERT,
    MEDIA_PRODUCING,
    MEDIA_WORKFLOW,
    SNAPSHOT,
    JobKind,
)
from airflow_provider_ice.sensors.job import IceJobSensor

__all__ = [
    "IceBatchMediaProducingJobSensor",
    "IceMediaConvertJobSensor",
    "IceMediaProducingJobSensor",
    "IceMediaWorkflowTaskSensor",
    "IceSnapshotJobSensor",
]


class IceMediaProducingJobSensor(IceJobSensor):
    """Wait until an ICE media producing job (SubmitMediaProducingJob) is terminal; push its result
    to XCom.

    ``job_id`` is the JobId (templated); the other parameters and every mode are
    :class:`~airflow_provider_ice.sensors.job.IceJobSensor`'s. ``Success`` succeeds; ``Failed``
    fails with ICE's ``Code`` and ``Message``; ``Init``, ``Queuing`` and ``Processing`` are polled
    on. XCom: ``return_value`` = the job's ``JobId``, ``MediaId``, ``MediaURL``, ``VodMediaId``,
    ``Duration``, ``ProjectId``, ``TemplateId``, ``CompleteTime``, ``UserData``, ``Code`` and
    ``Message`` (those it has), ``status``.
    """

    kind: ClassVar[JobKind] = MEDIA_PRODUCING
    job_id: str


class IceMediaConvertJobSensor(IceJobSensor):
    """Wait until an ICE MediaConvert job (SubmitMediaConvertJob) is terminal; push its result to XCom.

    ``job_id`` is the JobId (templated); the other parameters and every mode are
    :class:`~airflow_provider_ice.sensors.job.IceJobSensor`'s. ``Complete`` succeeds; ``Error`` and
    ``Cancelled`` fail with ICE's ``Code`` and ``Message``; ``Inited`` and ``Running`` are polled on.
    XCom: ``return_value`` = the job's ``JobId``, ``OutputGroupDetails``, ``OutputDetails``,
    ``PipelineId``, ``FinishTime``, ``UserData``, ``ClientToken``, ``Code`` and ``Message`` (those
    it has), ``status``.
    """

    kind: ClassVar[JobKind] = MEDIA_CONVERT
    job_id: str


class IceBatchMediaProducingJobSensor(IceJobSensor):
    """Wait until an ICE batch media producing job (SubmitBatchMediaProducingJob) is terminal; push
    its result to XCom.

    ``job_id`` is the JobId (templated); the other parameters and every mode are
    :class:`~airflow_provider_ice.sensors.job.IceJobSensor`'s. ``Init`` and ``Processing`` are polled
    on. ICE ends every batch ``Finished``, which says nothing of success: the sub-jobs
    (``SubJobList``, one per video) decide. All ``Success``: the task succeeds; some: it succeeds
    only with ``accept_partial_success=True`` (the failed ones are logged); none (or none listed):
    it fails. A failure names every sub-job that did not succeed with its ``ErrorCode`` and
    ``ErrorMessage``. XCom: ``return_value`` = the job's ``JobId``, ``JobType``, ``SubJobList``
    (each sub-job's ``JobId``, ``Status``, ``MediaId``, ``MediaURL``, ``Duration``, ``ErrorCode``,
    ``ErrorMessage``), ``OutputConfig``, ``CompleteTime``, ``UserData``, ``Extend`` (the parent's
    ``ErrorCode`` and ``ErrorMessage``) and ``ExtendOutput`` (those it has), ``status``.
    """

    kind: ClassVar[JobKind] = BATCH_MEDIA_PRODUCING
    job_id: str


class IceSnapshotJobSensor(IceJobSensor):
    """Wait until an ICE snapshot job (SubmitSnapshotJob) is terminal; push its result to XCom.

    ``job_id`` is the JobId (templated); the other parameters and every mode are
    :class:`~airflow_provider_ice.sensors.job.IceJobSensor`'s. ``Success`` succeeds; ``Fail`` fails
    with ICE's ``Code`` and ``Message``; ``Init`` (the only running status ICE documents) is polled
    on. XCom: ``return_value`` = the job's ``JobId``, ``Name``, ``Type``, ``Count``, ``Output``,
    ``TemplateId``, ``PipelineId``, ``FinishTime``, ``UserData``, ``Code`` and ``Message`` (those
    it has), ``status``.
    """

    kind: ClassVar[JobKind] = SNAPSHOT
    job_id: str


class IceMediaWorkflowTaskSensor(IceJobSensor):
    """Wait until a task of an ICE media workflow (StartWorkflow: a template workflow, not an AI
    one) is terminal; push its result to XCom.

    :param workflow_task_id: the task's TaskId (templated).

    The other parameters and every mode are :class:`~airflow_provider_ice.sensors.job.IceJobSensor`'s.
    ``Succeed`` succeeds; ``Failed`` and ``Canceled`` fail naming the failed nodes of
    ``ActivityResults`` (ICE gives a workflow task no error fields); ``Init`` and ``Processing``
    are polled on. ``Workflow.Status`` (``Active``) is the template's, not the task's. XCom:
    ``return_value`` = the task's ``TaskId``, ``ActivityResults`` (per node), ``TaskInput``,
    ``Workflow``, ``CreateTime``, ``FinishTime`` and ``UserData`` (those it has), ``status``.
    """

    kind: ClassVar[JobKind] = MEDIA_WORKFLOW
    template_fields: Sequence[str] = ("workflow_task_id", "ice_conn_id", "region_id")
    workflow_task_id: str

    def __init__(self, *, workflow_task_id: str, **kwargs: Any) -> None:
        super().__init__(job_id=workflow_task_id, **kwargs)
