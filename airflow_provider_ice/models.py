"""ICE job records (:class:`IceWorkflowTask` for AI workflows, :class:`IceJob` for the other kinds),
parsed from the JSON answers on both paths, independent of the SDK (cheap to import). Statuses are
spelled in :mod:`.kinds` only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from airflow_provider_ice.exceptions import UNREADABLE_ANSWER, IceTransportError
from airflow_provider_ice.kinds import AI_WORKFLOW, KINDS, IceWorkflowTaskStatus, JobKind

__all__ = ["TERMINAL_STATUSES", "IceJob", "IceWorkflowTask", "IceWorkflowTaskStatus", "parse_json_field"]

#: Every status but ``running`` is final: the task will not change again.
TERMINAL_STATUSES: frozenset[str] = AI_WORKFLOW.terminal


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

    #: the job kind it is a record of
    kind: ClassVar[JobKind] = AI_WORKFLOW

    @property
    def is_terminal(self) -> bool:
        """Whether the status is one ICE does not leave (succeeded, partial-succeeded, failed, stopped)."""
        return self.status in TERMINAL_STATUSES

    @property
    def job_id(self) -> str:
        """The TaskId (the name every job record gives its id)."""
        return self.task_id

    def xcom_values(self) -> dict[str, Any]:
        """The XCom contract: ``return_value`` = Outputs, ``node_results``, ``status``."""
        return {"return_value": self.outputs, "node_results": self.node_results, "status": self.status}

    def lineage_values(self) -> tuple[Any, Any]:
        """What names the OSS objects it read (Inputs) and wrote (Outputs)."""
        return self.inputs, self.outputs

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
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})  # type: ignore[arg-type]


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
    """StartAIWorkflow's JSON answer -> the new TaskId (:func:`job_id_from_answer` of AI workflows).

    :param body: the decoded answer.
    """
    return job_id_from_answer(AI_WORKFLOW, body)


def _at(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` of nested objects, or None."""
    for part in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


@dataclass(frozen=True)
class IceJob:
    """One job of an ICE job kind other than AI workflows (:mod:`.kinds`), as its Get* action
    returned it. Immutable and JSON-serialisable (:meth:`to_dict` / :meth:`from_dict`).

    :param kind_name: the kind's name (``media_convert``…).
    :param job_id: the job's id.
    :param status: as ICE reports it (a status ICE adds later is kept as it is).
    :param record: the job object of the answer (ICE's PascalCase keys), its JSON-string fields
        decoded; default None: not read (a poll while the job runs reads the status only).
    """

    kind_name: str
    job_id: str
    status: str
    record: dict[str, Any] | None = None

    @property
    def kind(self) -> JobKind:
        """The job's kind."""
        return KINDS[self.kind_name]

    @property
    def is_terminal(self) -> bool:
        """Whether the status is one of the kind's documented final statuses."""
        return self.status in self.kind.terminal

    @property
    def error(self) -> tuple[str | None, str | None]:
        """(code, message) of a failed job, from the kind's error fields; (None, None) without them."""
        fields = self.kind.error_fields
        if fields is None or not self.record:
            return None, None
        code, message = (_empty_to_none(_at(self.record, path)) for path in fields)
        return (None if code is None else str(code)), (None if message is None else str(message))

    def sub_jobs(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The sub-jobs the record lists (a kind with :class:`~airflow_provider_ice.kinds.SubJobs`):
        those that succeeded and the others, each as ICE gave it; two empty lists for other kinds."""
        spec = self.kind.sub_jobs
        listed = (self.record or {}).get(spec.list_field) if spec else None
        if spec is None or not isinstance(listed, list):
            return [], []
        subs = [sub for sub in listed if isinstance(sub, Mapping)]
        succeeded = [dict(sub) for sub in subs if sub.get(spec.status_field) in spec.success]
        return succeeded, [dict(sub) for sub in subs if sub.get(spec.status_field) not in spec.success]

    @property
    def result(self) -> dict[str, Any]:
        """The kind's result fields the job has (its ``return_value`` in XCom)."""
        record = self.record or {}
        return {name: record[name] for name in self.kind.result_fields if record.get(name) not in (None, "")}

    def xcom_values(self) -> dict[str, Any]:
        """The XCom contract: ``return_value`` = :attr:`result`, ``status``."""
        return {"return_value": self.result, "status": self.status}

    def lineage_values(self) -> tuple[Any, Any]:
        """What names the OSS objects it read and wrote (the kind's lineage fields); what it was to
        write counts only once it succeeded."""
        (inputs, outputs), record, kind = self.kind.lineage, self.record, self.kind
        read = [_at(record, path) for path in inputs]
        if kind.sub_jobs is not None and self.status in kind.settled:
            return read, self.sub_jobs()[0]  # what the sub-jobs that succeeded wrote
        return read, [_at(record, path) for path in outputs] if self.status in kind.success else []

    @classmethod
    def from_api(cls, kind: JobKind, data: Mapping[str, Any], *, whole: bool = True) -> IceJob:
        """Build from the job object of ``kind``'s get answer.

        :param kind: the job's kind.
        :param data: that object, as decoded from the answer's JSON.
        :param whole: keep the whole object; default True (False: id and status only, for a poll of a
            running job).
        """
        job_id = str(data.get(kind.id_param) or data.get("JobId") or "")
        status = str(data.get(kind.status_field) or "")
        if not whole:
            return cls(kind.name, job_id, status)
        record = {key: parse_json_field(value) if key in kind.json_fields else value for key, value in data.items()}
        return cls(kind.name, job_id, status, record)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, JSON-serialisable."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IceJob:
        """The inverse of :meth:`to_dict`.

        :param data: what :meth:`to_dict` returned.
        """
        return cls(str(data["kind_name"]), str(data["job_id"]), str(data["status"]), data.get("record"))


#: A record of any kind: :class:`IceWorkflowTask` or :class:`IceJob`.
JobRecord = IceWorkflowTask | IceJob


def job_from_answer(kind: JobKind, body: dict[str, Any], *, poll: bool = False) -> JobRecord:
    """``kind``'s get answer -> its record; with ``poll``, only id and status while the job runs
    (fields nobody reads until it ends are not parsed on every poll).

    :param kind: the job's kind.
    :param body: the decoded answer.
    :param poll: for a poll (default False: the whole record, whatever the status).
    :raises ~airflow_provider_ice.exceptions.IceTransportError: ``UnreadableAnswer`` when it holds
        no job object.
    """
    if kind is AI_WORKFLOW:
        return poll_from_answer(body) if poll else task_from_answer(body)
    data = body.get(kind.record_key)
    if not isinstance(data, dict) or not data:
        raise IceTransportError(UNREADABLE_ANSWER, f"{kind.get_action} returned no {kind.record_key}", retryable=False)
    running = poll and data.get(kind.status_field) not in kind.terminal
    return IceJob.from_api(kind, data, whole=not running)


def job_id_from_answer(kind: JobKind, body: dict[str, Any]) -> str:
    """``kind``'s submit answer -> the new job's id.

    :param kind: the job's kind.
    :param body: the decoded answer.
    :raises ~airflow_provider_ice.exceptions.IceTransportError: when it holds no id (not retryable:
        ICE answered success, so a job may exist).
    """
    value = _at(body, ".".join(kind.submit_id_path))
    if not value:
        # ICE answered success: a job may exist, so nobody may send the submit again.
        where = ".".join(kind.submit_id_path)
        raise IceTransportError(UNREADABLE_ANSWER, f"{kind.submit_action} returned no {where}", may_have_run=True)
    return str(value)
