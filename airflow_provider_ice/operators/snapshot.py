"""IceSubmitSnapshotJobOperator: submit an ICE snapshot job (SubmitSnapshotJob: thumbnails, covers,
sprites) and (optionally) wait for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_ice.kinds import SNAPSHOT, JobKind
from airflow_provider_ice.operators.job import IceSubmitJobOperator
from airflow_provider_ice.operators.submit_params import check_json, query_of, require_given

__all__ = ["IceSubmitSnapshotJobOperator"]


class IceSubmitSnapshotJobOperator(IceSubmitJobOperator):
    """Submit an ICE snapshot job (SubmitSnapshotJob); wait for it by default.

    :param input_file: ``Input``: the video, ``{"Type": "OSS", "Media": "oss://bucket/video.mp4"}`` (or
        ``"Type": "Media"`` and a media asset id), a dict or JSON string (templated). Required.
    :param output_file: ``Output``: where the images go, ``{"Type": "OSS", "Media":
        "oss://bucket/snap-{Count}.jpg"}``, a dict or JSON string (templated). Required.
    :param template_config: ``TemplateConfig``: ``{"TemplateId": ..., "OverwriteParams": {...}}``,
        a dict or JSON string (templated). Required.
    :param name: ``Name``, the job's name (templated); default None.
    :param schedule_config: ``ScheduleConfig`` (``PipelineId``), a dict or JSON string; default None.
    :param user_data: ``UserData``, any string (a dict or list is sent as JSON; templated); default None.

    ICE takes no idempotency key for SubmitSnapshotJob: a submit that may have reached ICE is never
    sent again (the task fails saying so, without an Airflow retry). The other parameters are
    :class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator`'s. XCom: ``job_id`` right
    after the submit; when waiting, the contract of
    :class:`~airflow_provider_ice.sensors.media.IceSnapshotJobSensor`.
    """

    kind: ClassVar[JobKind] = SNAPSHOT
    template_fields: Sequence[str] = (
        "input_file",
        "output_file",
        "template_config",
        "name",
        "user_data",
        "ice_conn_id",
        "region_id",
    )
    template_fields_renderers = {
        "input_file": "json",
        "output_file": "json",
        "template_config": "json",
        "user_data": "json",
    }
    external_id_key = "ice_snapshot_job_id"

    def __init__(
        self,
        *,
        input_file: Any,
        output_file: Any,
        template_config: Any,
        name: str | None = None,
        schedule_config: Any = None,
        user_data: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_file, self.output_file, self.template_config = input_file, output_file, template_config
        self.name, self.schedule_config, self.user_data = name, schedule_config, user_data
        check_json(self, "input_file", "output_file", "template_config", "schedule_config")

    def submit_query(self, context: Any) -> dict[str, str]:
        """SubmitSnapshotJob's parameters, checked and encoded.

        :param context: the task's context.
        """
        require_given(self, "input_file", "output_file", "template_config")
        return query_of(
            ("Input", self.input_file, "json"),
            ("Name", self.name, None),
            ("Output", self.output_file, "json"),
            ("ScheduleConfig", self.schedule_config, "json"),
            ("TemplateConfig", self.template_config, "json"),
            ("UserData", self.user_data, "text"),
            fields={"Input": "input_file", "Output": "output_file"},
        )
