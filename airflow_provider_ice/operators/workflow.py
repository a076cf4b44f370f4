"""IceStartMediaWorkflowOperator: start a task of an ICE media workflow (a template workflow, not an
AI one: StartWorkflow) and (optionally) wait for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_ice.exceptions import IceArgumentError
from airflow_provider_ice.kinds import MEDIA_WORKFLOW, JobKind
from airflow_provider_ice.operators.job import IceSubmitJobOperator
from airflow_provider_ice.operators.submit_params import check_json, query_of
from airflow_provider_ice.params import require_id, template_of

__all__ = ["IceStartMediaWorkflowOperator"]


class IceStartMediaWorkflowOperator(IceSubmitJobOperator):
    """Start a task of an ICE media workflow (StartWorkflow); wait for it by default.

    :param workflow_id: ``WorkflowId``, the workflow template (templated). Required.
    :param task_input: ``TaskInput``: what it runs on, ``{"Type": "OSS", "Media":
        "oss://bucket/video.mp4"}`` (or ``"Type": "Media"`` and a media asset id), a dict or JSON
        string (templated); default None.
    :param user_data: ``UserData``, any string (a dict or list is sent as JSON; templated); default None.
    :param skip_input_verification: ``SkipInputVerification``; default None: ICE's (it verifies).

    ICE takes no idempotency key for StartWorkflow: a start that may have reached ICE is never sent
    again (the task fails saying so, without an Airflow retry). The other parameters are
    :class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator`'s. XCom:
    ``workflow_task_id`` right after the start; when waiting, the contract of
    :class:`~airflow_provider_ice.sensors.media.IceMediaWorkflowTaskSensor`.
    """

    kind: ClassVar[JobKind] = MEDIA_WORKFLOW
    template_fields: Sequence[str] = ("workflow_id", "task_input", "user_data", "ice_conn_id", "region_id")
    template_fields_renderers = {"task_input": "json", "user_data": "json"}
    external_id_key = "ice_media_workflow_task_id"
    workflow_task_id: str | None

    def __init__(
        self,
        *,
        workflow_id: str,
        task_input: Any = None,
        user_data: Any = None,
        skip_input_verification: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_id, self.task_input, self.user_data = workflow_id, task_input, user_data
        if skip_input_verification is not None and not isinstance(skip_input_verification, bool):
            raise IceArgumentError(
                f"Task {self.task_id!r}: skip_input_verification must be True, False or None, "
                f"got {skip_input_verification!r}."
            )
        self.skip_input_verification = skip_input_verification
        self._id_template = template_of(workflow_id)  # rendering replaces the field: for messages
        check_json(self, "task_input")

    def submit_query(self, context: Any) -> dict[str, str]:
        """StartWorkflow's parameters, checked and encoded.

        :param context: the task's context.
        """
        skip = self.skip_input_verification
        return query_of(
            ("SkipInputVerification", None if skip is None else str(skip), None),  # as the SDK: "True"
            ("TaskInput", self.task_input, "json"),
            ("UserData", self.user_data, "text"),
            ("WorkflowId", require_id("workflow_id", self.workflow_id, self._id_template), None),
        )

    def submitted_from(self) -> str:
        return f" from workflow {self.workflow_id}"
