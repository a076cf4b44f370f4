"""What the emulated service holds and answers with: workflow templates, tasks, faults (their kinds
and the codes each answers), and :class:`ApiError`, the service's refusal by a code ICE documents
(``errors.py``). The backend (:mod:`.backend`) changes them; the protocol layer formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_provider_ice.testing.emulator.errors import status_of

RUNNING = "running"
FINAL_STATUSES = ("succeeded", "partial-succeeded", "failed", "stopped")
#: Workflow types whose tasks StopAIWorkflowTask stops: ICE documents stopping for real-time
#: (live streaming, RTC) scenarios only. "Live" is the documentation's example type; the other
#: names, and "Offline" for the default, are assumed.
REALTIME_TYPES = ("Live", "RTC")


class FaultKind(StrEnum):
    """What a fault makes the emulator answer (the ``protocol`` module answers each)."""

    THROTTLING = "throttling"
    THROTTLING_RETRY_AFTER = "throttling_retry_after"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    PERMISSION_DENIED = "permission_denied"
    NOT_ACTIVATED = "not_activated"
    SUSPENDED = "suspended"
    REQUEST_TOO_LONG = "request_too_long"
    DROP = "drop"
    DELAY = "delay"
    NON_JSON = "non_json"
    REDIRECT = "redirect"


_THROTTLING_CODES = ("Throttling.User", "Throttling", "Throttling.Api", "RequestsTooFrequent")
#: Fault kinds -> the codes each may answer with (first: the default); empty for non-error faults.
FAULT_KINDS: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.THROTTLING: _THROTTLING_CODES,
    FaultKind.THROTTLING_RETRY_AFTER: _THROTTLING_CODES,
    FaultKind.SERVER_ERROR: ("InternalError",),
    FaultKind.UNAVAILABLE: ("ServiceUnAvailable",),
    FaultKind.PERMISSION_DENIED: ("Forbidden.RAM", "Forbidden", "NoPermission", "NotAuthorized"),
    FaultKind.NOT_ACTIVATED: ("OperationDenied",),
    FaultKind.SUSPENDED: ("OperationDenied.Suspended",),
    **{kind: () for kind in (FaultKind.REQUEST_TOO_LONG, FaultKind.DROP, FaultKind.DELAY)},
    **{kind: () for kind in (FaultKind.NON_JSON, FaultKind.REDIRECT)},
}


class ApiError(Exception):
    """An error the service answers with: a code of ``errors.py`` (its documented HTTP status,
    unless ``status`` overrides it), a message, and for RAM denials the ``access_denied`` detail.

    :param code: the error code (``Code`` of the answer), one ``errors.py`` records.
    :param message: the answer's ``Message``.
    :param headers: extra answer headers (e.g. ``x-acs-retry-after``); default none.
    :param access_denied: the ``AccessDeniedDetail`` of a RAM denial; default None.
    :param status: the HTTP status; default None: the one ICE documents for ``code``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        access_denied: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status or status_of(code)
        self.code, self.message = code, message
        self.headers = headers or {}
        self.access_denied = access_denied


@dataclass
class WorkflowTemplate:
    """A workflow whose tasks run for ``running_polls`` polls and/or ``running_seconds``, then end;
    or, when ``finish_at`` (the backend clock's time) is set, until then: a test that must act while
    tasks run (kill a triggerer, say) holds them with a far ``finish_at`` and moves it closer after.

    ``outputs``/``node_results`` are sent as JSON strings (as the API schema says) unless
    ``fields_as_objects`` asks for JSON objects, as the documentation's sample response shows.
    ``type`` is the scenario: only real-time types (:data:`REALTIME_TYPES`) can be stopped; the
    default, ``Offline``, cannot. ``running_status`` is what a running task reports (any string: an
    undocumented one tests how a client copes).

    :param workflow_id: the id StartAIWorkflow names (``WorkflowId``).
    :param name: the workflow's name in answers; default ``"emulated workflow"``.
    :param running_polls: GetAIWorkflowTask calls a task answers ``running_status`` to before it
        ends; default 0.
    :param running_seconds: seconds a task runs at least (with ``running_polls``: both must pass);
        default 0.
    :param finish_at: the backend clock's time at which every task ends (overrides the two above);
        default None.
    :param final_status: the status a task ends with: ``succeeded``, ``partial-succeeded``,
        ``failed`` or ``stopped``; default ``succeeded``.
    :param outputs: the ``Outputs`` of an ended task (any JSON value); default None.
    :param node_results: the ``NodeResults`` of an ended task (any JSON value); default None.
    :param type: the workflow type: ``Offline`` (default), ``Live`` or ``RTC``.
    :param graph: the workflow's graph in answers; default None.
    :param fields_as_objects: send ``Outputs``/``NodeResults`` as JSON objects, not strings; default
        False.
    :param running_status: what a running task reports; default ``running``.
    """

    workflow_id: str
    name: str = "emulated workflow"
    running_polls: int = 0
    running_seconds: float = 0.0
    finish_at: float | None = None
    final_status: str = "succeeded"
    outputs: Any = None
    node_results: Any = None
    type: str = "Offline"
    graph: Any = None
    fields_as_objects: bool = False
    running_status: str = RUNNING

    def __post_init__(self) -> None:
        if self.final_status not in FINAL_STATUSES:
            raise ValueError(f"final_status must be one of {FINAL_STATUSES}, got {self.final_status!r}")


@dataclass
class EmulatedTask:
    """A task the backend holds (a snapshot of it, in what the actions return).

    :param task_id: its TaskId.
    :param workflow: the template it runs.
    :param inputs: the ``Inputs`` it was started with (a JSON string, or None).
    :param user_data: the ``UserData`` it was started with, or None.
    :param created: the backend clock's time at its start.
    :param polls: GetAIWorkflowTask calls so far; default 0.
    :param status: its status now; default ``running``.
    :param finished: the backend clock's time at its end; default None: it runs.
    """

    task_id: str
    workflow: WorkflowTemplate
    inputs: Any
    user_data: Any
    created: float
    polls: int = 0
    status: str = RUNNING
    finished: float | None = None


@dataclass
class Fault:
    """An injected fault (see :meth:`.IceBackend.inject`, which takes the same parameters).

    :param kind: what to answer.
    :param count: calls left to fault; default 1 (None with ``rate``).
    :param rate: the fraction of calls to fault; default None.
    :param action: the action it applies to; default None: any.
    :param delay: seconds before a ``delay`` fault answers; default 0.
    :param retry_after_ms: the ``x-acs-retry-after`` of a ``throttling_retry_after`` fault; default
        200.
    :param status: the HTTP status of a ``non_json`` page, or instead of a code's documented one;
        default None.
    :param code: default None: the kind's first code; else the error code, one of :data:`FAULT_KINDS` [kind].
    """

    kind: FaultKind
    count: int | None = 1
    rate: float | None = None
    action: str | None = None
    delay: float = 0.0
    retry_after_ms: int = 200
    #: HTTP status of a ``non_json`` page (default 502), or instead of an error code's documented one
    status: int | None = None
    #: the error code, one of :data:`FAULT_KINDS` [kind]
    code: str | None = None
