"""Sensors for ICE's media jobs: media producing (editing and rendering) and MediaConvert
(transcoding). Each is :class:`~airflow_provider_ice.sensors.job.IceJobSensor` with its kind."""

from __future__ import annotations

from typing import ClassVar

from airflow_provider_ice.kinds import MEDIA_CONVERT, MEDIA_PRODUCING, JobKind
from airflow_provider_ice.sensors.job import IceJobSensor

__all__ = ["IceMediaConvertJobSensor", "IceMediaProducingJobSensor"]


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
