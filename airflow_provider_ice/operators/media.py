"""Operators that submit ICE's media jobs and (optionally) wait for them: media producing
(SubmitMediaProducingJob) and MediaConvert (SubmitMediaConvertJob). Each is
:class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator` with its kind and parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_ice.exceptions import IceArgumentError
from airflow_provider_ice.kinds import MEDIA_CONVERT, MEDIA_PRODUCING, JobKind
from airflow_provider_ice.operators.job import IceSubmitJobOperator
from airflow_provider_ice.operators.submit_params import Param, check_json, client_token_param, query_of, require_given
from airflow_provider_ice.params import require_id

__all__ = ["IceSubmitMediaConvertJobOperator", "IceSubmitMediaProducingJobOperator"]


class IceSubmitMediaProducingJobOperator(IceSubmitJobOperator):
    """Submit an ICE media producing job (editing and rendering: SubmitMediaProducingJob) from an
    editing project or a template; wait for it by default.

    :param output_media_config: ``OutputMediaConfig``: where the output goes (``MediaURL`` for OSS,
        ``StorageLocation`` and ``FileName`` for VOD), a dict or JSON string (templated). Required.
    :param project_id: ``ProjectId``, an editing project (templated); default None.
    :param template_id: ``TemplateId``, a template (templated; needs ``clips_param``); default None.
    :param timeline: ``Timeline``, the edit itself, a dict or JSON string (templated; sent in the
        request body, as the SDK sends it); default None. Give exactly one of ``project_id``,
        ``template_id`` and ``timeline``.
    :param clips_param: ``ClipsParam``, the template's materials, a dict or JSON string
        (templated); default None.
    :param output_media_target: ``OutputMediaTarget``: ``oss-object``, ``vod-media`` or ``S3``;
        default None: ICE's.
    :param editing_produce_config: ``EditingProduceConfig``, a dict or JSON string; default None.
    :param media_metadata: ``MediaMetadata``, a dict or JSON string; default None.
    :param project_metadata: ``ProjectMetadata``, a dict or JSON string; default None.
    :param user_data: ``UserData``, any string (a dict or list is sent as JSON; templated); default None.
    :param client_token: ``ClientToken``, ICE's idempotency key, at most 64 ASCII characters
        (templated); default None: one per try of the task instance, sent with every resend of the
        try's submit, so that a resend after a lost answer is answered with the first job. A token
        you give is sent by every try: give one unique per job.

    The other parameters are :class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator`'s
    (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``timeout``, ``ice_conn_id``…).
    XCom: ``job_id`` right after the submit; when waiting, the contract of
    :class:`~airflow_provider_ice.sensors.media.IceMediaProducingJobSensor`.
    """

    kind: ClassVar[JobKind] = MEDIA_PRODUCING
    template_fields: Sequence[str] = (
        "output_media_config",
        "project_id",
        "template_id",
        "timeline",
        "clips_param",
        "user_data",
        "client_token",
        "ice_conn_id",
        "region_id",
    )
    template_fields_renderers = {
        "output_media_config": "json",
        "clips_param": "json",
        "timeline": "json",
        "user_data": "json",
    }
    external_id_key = "ice_media_producing_job_id"

    def __init__(
        self,
        *,
        output_media_config: Any,
        project_id: str | None = None,
        template_id: str | None = None,
        timeline: Any = None,
        clips_param: Any = None,
        output_media_target: str | None = None,
        editing_produce_config: Any = None,
        media_metadata: Any = None,
        project_metadata: Any = None,
        user_data: Any = None,
        client_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if [project_id, template_id, timeline].count(None) != 2:
            raise IceArgumentError(
                f"Task {self.task_id!r}: give exactly one of project_id, template_id and timeline (ICE renders "
                f"a project, a template or a timeline), got project_id={project_id!r}, "
                f"template_id={template_id!r}, timeline={'given' if timeline is not None else None}."
            )
        if template_id is not None and clips_param is None:
            raise IceArgumentError(f"Task {self.task_id!r}: template_id needs clips_param (the template's materials).")
        self.output_media_config, self.clips_param, self.timeline = output_media_config, clips_param, timeline
        self.editing_produce_config = editing_produce_config
        self.media_metadata, self.project_metadata = media_metadata, project_metadata
        self.project_id, self.template_id = project_id, template_id
        self.output_media_target = output_media_target
        self.user_data, self.client_token = user_data, client_token
        json_params = ("output_media_config", "clips_param", "timeline", "editing_produce_config", "media_metadata")
        check_json(self, *json_params, "project_metadata")

    def submit_query(self, context: Any) -> dict[str, str]:
        """SubmitMediaProducingJob's parameters, checked and encoded.

        :param context: the task's context.
        """
        if self.output_media_config in (None, "", "None"):
            raise IceArgumentError("output_media_config rendered to nothing: give where the output goes.")
        if self.project_id is not None:
            source: Param = ("ProjectId", require_id("project_id", self.project_id), None)
        elif self.template_id is not None:
            source = ("TemplateId", require_id("template_id", self.template_id), None)
        else:
            require_given(self, "timeline")
            source = ("Timeline", self.timeline, "json")
        return query_of(
            client_token_param(self.client_token),
            ("ClipsParam", self.clips_param, "json"),
            ("EditingProduceConfig", self.editing_produce_config, "json"),
            ("MediaMetadata", self.media_metadata, "json"),
            ("OutputMediaConfig", self.output_media_config, "json"),
            ("OutputMediaTarget", self.output_media_target, None),
            source,
            ("ProjectMetadata", self.project_metadata, "json"),
            ("UserData", self.user_data, "text"),
        )


class IceSubmitMediaConvertJobOperator(IceSubmitJobOperator):
    """Submit an ICE MediaConvert job (transcoding: SubmitMediaConvertJob); wait for it by default.

    :param config: ``Config``, the job's configuration (``Inputs``, ``OutputGroups`` or ``Outputs``:
        ICE's MediaConvertJobConfig), a dict or JSON string (templated). Required.
    :param pipeline_id: ``PipelineId``, the queue that runs it (templated); default None: ICE's.
    :param user_data: ``UserData``, any string (a dict or list is sent as JSON; templated); default None.
    :param client_token: ``ClientToken``, ICE's idempotency key, at most 64 ASCII characters
        (templated); default None: one per try of the task instance, sent with every resend of the
        try's submit, so that a resend after a lost answer is answered with the first job. A token
        you give is sent by every try: give one unique per job.

    The other parameters are :class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator`'s.
    XCom: ``job_id`` right after the submit; when waiting, the contract of
    :class:`~airflow_provider_ice.sensors.media.IceMediaConvertJobSensor`.
    """

    kind: ClassVar[JobKind] = MEDIA_CONVERT
    template_fields: Sequence[str] = ("config", "pipeline_id", "user_data", "client_token", "ice_conn_id", "region_id")
    template_fields_renderers = {"config": "json", "user_data": "json"}
    external_id_key = "ice_media_convert_job_id"

    def __init__(
        self,
        *,
        config: Any,
        pipeline_id: str | None = None,
        user_data: Any = None,
        client_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config, self.pipeline_id = config, pipeline_id
        self.user_data, self.client_token = user_data, client_token
        check_json(self, "config")

    def submit_query(self, context: Any) -> dict[str, str]:
        """SubmitMediaConvertJob's parameters, checked and encoded.

        :param context: the task's context.
        """
        if self.config in (None, "", "None"):
            raise IceArgumentError("config rendered to nothing: give the MediaConvert job's configuration.")
        return query_of(
            client_token_param(self.client_token),
            ("Config", self.config, "json"),
            ("PipelineId", self.pipeline_id, None),
            ("UserData", self.user_data, "text"),
        )
