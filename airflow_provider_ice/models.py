"""ICE AI-workflow task records and statuses, independent of the SDK (cheap to import)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from airflow_provider_ice.exceptions import UNREADABLE_ANSWER, IceTransportError


class IceWorkflowTaskStatus(StrEnum):
    """Status of an AI workflow task as GetAIWorkflowTask reports it."""

    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"
    PARTIAL_SUCCEEDED = "partial-succeeded"
    SUCCEEDED = "succeeded"


#: Every status but ``running`` is final: the task will not change again.
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        IceWorkflowTaskStatus.STOPPED,
        IceWorkflowTaskStatus.FAILED,
        IceWorkflowTaskStatus.PARTIAL_SUCCEEDED,
        IceWorkflowTaskStatus.SUCCEEDED,
    }
)


def parse_json_field(value: Any) -> Any:
    """Decode a field the API types as a JSON string but sometimes sends as an object.

    JSON text is decoded; a string that is not JSON stays the string; ``""`` and None mean absent
    (None); anything already decoded (dict, list, number) is returned as it is.

    :param value: the field as the answer carried it.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


@dataclass(frozen=True)
class IceWorkflowTask:
    """One AI workflow task as GetAIWorkflowTask returned it, with its JSON fields parsed.

    Immutable and JSON-serialisable (:meth:`to_dict` / :meth:`from_dict`).

    :param task_id: the TaskId.
    :param status: as ICE reports it: ``running``, ``succeeded``, ``partial-succeeded``, ``failed``,
        ``stopped``, or a status ICE adds later (kept as it is).
    :param inputs: the task's ``Inputs``, JSON decoded (a string that is not JSON stays a string);
        default None: absent.
    :param outputs: its ``Outputs``, decoded the same way; default None (absent, or still running).
    :param node_results: its ``NodeResults`` (per workflow node), decoded the same way; default None.
    :param user_data: its ``UserData``, decoded the same way; default None.
    :param create_time: when ICE created it (ICE's text); default None.
    :param finish_time: when it ended (ICE's text); default None.
    :param version: the workflow version it ran; default None.
    :param workflow: the workflow's ``workflow_id``, ``name``, ``status``, ``type``, ``version``,
        ``graph``, ``create_time`` and ``modified_time``; default None.
    """

    task_id: str
    status: str
    inputs: Any = None
    outputs: Any = None
    node_results: Any = None
    user_data: Any = None
    create_time: str | None = None
    finish_time: str | None = None
    version: str | None = None
    workflow: dict[str, Any] | None = field(default=None)

    @property
    def is_terminal(self) -> bool:
        """Whether the status is one ICE does not leave (succeeded, partial-succeeded, failed, stopped)."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> IceWorkflowTask:
        """Build from the ``WorkflowTask`` object of the API response (PascalCase keys).

        :param data: that object, as decoded from the answer's JSON.
        """
        workflow_raw = data.get("Workflow")
        workflow: dict[str, Any] | None = None
        if isinstance(workflow_raw, Mapping) and workflow_raw:
            workflow = {
                "workflow_id": _empty_to_none(workflow_raw.get("WorkflowId")),
                "name": _empty_to_none(workflow_raw.get("Name")),
                "status": _empty_to_none(workflow_raw.get("Status")),
                "type": _empty_to_none(workflow_raw.get("Type")),
                "version": _empty_to_none(workflow_raw.get("Version")),
                "graph": parse_json_field(workflow_raw.get("Graph")),
                "create_time": _empty_to_none(workflow_raw.get("CreateTime")),
                "modified_time": _empty_to_none(workflow_raw.get("ModifiedTime")),
            }
        version = data.get("Version")
        return cls(
            task_id=str(data.get("TaskId") or ""),
            status=str(data.get("Status") or ""),
            inputs=parse_json_field(data.get("Inputs")),
            outputs=parse_json_field(data.get("Outputs")),
            node_results=parse_json_field(data.get("NodeResults")),
            user_data=parse_json_field(data.get("UserData")),
            create_time=_empty_to_none(data.get("CreateTime")),
            finish_time=_empty_to_none(data.get("FinishTime")),
            version=None if version in (None, "") else str(version),
            workflow=workflow,
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (snake_case keys), JSON-serialisable."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IceWorkflowTask:
        """The inverse of :meth:`to_dict`.

        :param data: what :meth:`to_dict` returned (missing keys are None).
        """
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def task_from_answer(body: dict[str, Any]) -> IceWorkflowTask:
    """GetAIWorkflowTask's JSON answer -> our record, straight from the JSON on both paths.

    :param body: the decoded answer.
    :raises ~airflow_provider_ice.exceptions.IceTransportError: ``UnreadableAnswer`` when it holds
        no ``WorkflowTask``.
    """
    task = body.get("WorkflowTask")
    if not isinstance(task, dict) or not task:
        raise IceTransportError(UNREADABLE_ANSWER, "GetAIWorkflowTask returned no WorkflowTask", retryable=False)
    return IceWorkflowTask.from_api(task)


def poll_from_answer(body: dict[str, Any]) -> IceWorkflowTask:
    """GetAIWorkflowTask's JSON answer -> what a wait needs: while the task runs, its id and status
    only (Inputs, Outputs, NodeResults, UserData and the workflow's Graph are JSON inside JSON: a
    second parse on every poll for fields nobody reads until the task ends); once it ended, the
    whole record (:func:`task_from_answer`).

    :param body: the decoded answer.
    :raises ~airflow_provider_ice.exceptions.IceTransportError: as :func:`task_from_answer`.
    """
    task = body.get("WorkflowTask")
    if isinstance(task, dict) and task and task.get("Status") not in TERMINAL_STATUSES:
        return IceWorkflowTask(str(task.get("TaskId") or ""), str(task.get("Status") or ""))
    return task_from_answer(body)


def task_id_from_answer(body: dict[str, Any]) -> str:
    """StartAIWorkflow's JSON answer -> the new TaskId.

    :param body: the decoded answer.
    :raises ~airflow_provider_ice.exceptions.IceTransportError: when it holds no TaskId (not
        retryable: ICE answered success, so a task may exist).
    """
    task_id = body.get("TaskId")
    if not task_id:
        # ICE answered success: a task may exist, so nobody may send the start again.
        raise IceTransportError(UNREADABLE_ANSWER, "StartAIWorkflow returned no TaskId", may_have_run=True)
    return str(task_id)
