"""IceSubmitBatchMediaProducingJobOperator: submit an ICE batch media producing job (many videos
from one set of materials: SubmitBatchMediaProducingJob) and (optionally) wait for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_ice.kinds import BATCH_MEDIA_PRODUCING, JobKind
from airflow_provider_ice.operators.job import IceSubmitJobOperator
from airflow_provider_ice.operators.submit_params import check_json, client_token_param, query_of, require_given

__all__ = ["IceSubmitBatchMediaProducingJobOperator"]


class IceSubmitBatchMediaProducingJobOperator(IceSubmitJobOperator):
    """Submit an ICE batch media producing job (SubmitBatchMediaProducingJob: ICE edits many videos
    from one set of materials); wait for it by default.

    :param input_config: ``InputConfig``: the materials (media groups, titles, speech texts…), a dict
        or JSON string (templated; sent in the request body, as the SDK sends it). Required.
    :param output_config: ``OutputConfig``: where the videos go (``MediaURL`` with ``{index}``, or
        ``StorageLocation`` and ``FileName``), how many (``Count``) and their size, a dict or JSON
        string (templated). Required.
    :param editing_config: ``EditingConfig``: volumes, speech, background music…, a dict or JSON
        string (templated; sent in the request body); default None: ICE's.
    :param template_config: ``TemplateConfig``, a dict or JSON string (templated); default None.
    :param user_data: ``UserData``, any string (a dict or list is sent as JSON; templated); default None.
    :param client_token: ``ClientToken``, ICE's idempotency key, at most 64 ASCII characters
        (templated); default None: one per try of the task instance, sent with every resend of the
        try's submit. A token you give is sent by every try: give one unique per job.
    :param accept_partial_success: succeed when only some of the videos were made; default False:
        the task fails naming every failed one.

    ICE ends a batch ``Finished`` whatever its videos did: the outcome comes from its sub-jobs
    (``SubJobList``), as :class:`~airflow_provider_ice.sensors.media.IceBatchMediaProducingJobSensor`
    says. The other parameters are :class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator`'s.
    XCom: ``job_id`` right after the submit; when waiting, the sensor's contract.
    """

    kind: ClassVar[JobKind] = BATCH_MEDIA_PRODUCING
    template_fields: Sequence[str] = (
        "input_config",
        "output_config",
        "editing_config",
        "template_config",
        "user_data",
        "client_token",
        "ice_conn_id",
        "region_id",
    )
    template_fields_renderers = {
        "input_config": "json",
        "output_config": "json",
        "editing_config": "json",
        "template_config": "json",
        "user_data": "json",
    }
    external_id_key = "ice_batch_media_producing_job_id"

    def __init__(
        self,
        *,
        input_config: Any,
        output_config: Any,
        editing_config: Any = None,
        template_config: Any = None,
        user_data: Any = None,
        client_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_config, self.output_config = input_config, output_config
        self.editing_config, self.template_config = editing_config, template_config
        self.user_data, self.client_token = user_data, client_token
        check_json(self, "input_config", "output_config", "editing_config", "template_config")

    def submit_query(self, context: Any) -> dict[str, str]:
        """SubmitBatchMediaProducingJob's parameters, checked and encoded.

        :param context: the task's context.
        """
        require_given(self, "input_config", "output_config")
        return query_of(
            client_token_param(self.client_token),
            ("EditingConfig", self.editing_config, "json"),
            ("InputConfig", self.input_config, "json"),
            ("OutputConfig", self.output_config, "json"),
            ("TemplateConfig", self.template_config, "json"),
            ("UserData", self.user_data, "text"),
        )
