"""Waiting on an ICE task, as pure rules written once for the sensor, the trigger and the start
operator: what a status means (:func:`decide`), the trigger's event, the XCom contract, how often to
poll, how an outage is told, and :class:`Wait`, the step every poll goes through. No operator,
sensor or trigger is imported here.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, TypedDict

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.models import IceWorkflowTask, IceWorkflowTaskStatus
from airflow_provider_ice.version_compat import xcom_accepts_none

# ---- status -> outcome, and the trigger's event ----------------------------------------------

_NODE_FAILED = frozenset({"failed", "fail", "error", "stopped", "timeout", "cancelled", "canceled"})


class Outcome(StrEnum):
    """How a wait ended; the ``status`` of the trigger's event."""

    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    TIMEOUT = "timeout"


class WaitEvent(TypedDict):
    """The trigger's one event. Small on purpose: Outputs and NodeResults are fetched on resume."""

    status: str
    workflow_task_id: str
    task_status: str | None
    message: str
    error_code: str | None
    retryable: bool


#: The statuses ICE documents; any other value (or none) is warned about and polled on.
DOCUMENTED_STATUSES: frozenset[str] = frozenset(IceWorkflowTaskStatus)
_WARNED: set[tuple[str, str]] = set()


def note_status(log: Any, task: IceWorkflowTask) -> None:
    """Warn, once per task and value in this process, about a status ICE does not document; the wait
    polls on (only a documented final status ends it)."""
    if task.status in DOCUMENTED_STATUSES or (task.task_id, task.status) in _WARNED:
        return
    _WARNED.add((task.task_id, task.status))
    log.warning(
        "ICE workflow task %s reports %s, which is none of the statuses ICE documents (%s): polling on.",
        task.task_id,
        f"status {task.status!r}" if task.status else "no status",
        ", ".join(sorted(DOCUMENTED_STATUSES)),
    )


def decide(task_status: str, accept_partial_success: bool) -> Outcome:
    """``succeeded`` -> success; ``partial-succeeded`` -> success only if accepted; other terminal -> failure."""
    if task_status == IceWorkflowTaskStatus.SUCCEEDED:
        return Outcome.SUCCESS
    if task_status == IceWorkflowTaskStatus.PARTIAL_SUCCEEDED and accept_partial_success:
        return Outcome.SUCCESS
    return Outcome.FAILURE


def failed_nodes(node_results: Any) -> list[tuple[str, str | None]]:
    """(name, error message or None) of each node NodeResults reports as failed, whichever shape it has.

    Accepts ``{"node": {"Status": "failed", ...}}`` and ``[{"NodeId"/"Name": ..., "Status": ...}]``.
    """
    if isinstance(node_results, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in node_results.items()]
    elif isinstance(node_results, list):
        items = [
            (str(v.get("NodeId") or v.get("NodeName") or v.get("Name") or v.get("Id") or i), v)
            for i, v in enumerate(node_results)
            if isinstance(v, dict)
        ]
    else:
        return []
    failed = []
    for name, result in items:
        status = result
        if isinstance(result, dict):
            status = result.get("Status") or result.get("status") or result.get("State") or result.get("state")
        if isinstance(status, str) and status.lower() in _NODE_FAILED:
            failed.append((name, _node_error(result)))
    return failed


#: Keys a node's error message may hide under (NodeResults' shape is not documented), compared
#: case-insensitively, in this order.
_NODE_ERROR_KEYS = ("errormessage", "errormsg", "message", "error", "reason", "errorcode", "code")
#: A failed node's error message in a failure message is cut to this many characters.
NODE_ERROR_CHARS = 300


def _node_error(result: Any) -> str | None:
    if not isinstance(result, dict):
        return None
    by_key = {str(k).lower().replace("_", ""): v for k, v in result.items()}
    value = next((by_key[k] for k in _NODE_ERROR_KEYS if by_key.get(k) not in (None, "")), None)
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text if len(text) <= NODE_ERROR_CHARS else text[: NODE_ERROR_CHARS - 1] + "…"


def describe(task: IceWorkflowTask, outcome: Outcome) -> str:
    """A one-line summary naming the task, its status and (on failure) its failed nodes with their
    error messages (each shortened to :data:`NODE_ERROR_CHARS` characters)."""
    text = f"ICE workflow task {task.task_id} ended with status {task.status!r}"
    if outcome is Outcome.SUCCESS:
        return text + "."
    if task.status == IceWorkflowTaskStatus.PARTIAL_SUCCEEDED:
        text += " (set accept_partial_success=True to accept it)"
    nodes = [f"{name} ({error})" if error else name for name, error in failed_nodes(task.node_results)]
    return text + (f"; failed nodes: {'; '.join(nodes)}." if nodes else "; NodeResults names no failed node.")


def terminal_event(task: IceWorkflowTask, accept_partial_success: bool) -> WaitEvent:
    outcome = decide(task.status, accept_partial_success)
    return error_event(task.task_id, outcome, describe(task, outcome), task_status=task.status)


def error_event(
    workflow_task_id: str,
    outcome: Outcome,
    message: str,
    *,
    task_status: str | None = None,
    error_code: str | None = None,
    retryable: bool = False,
) -> WaitEvent:
    """The trigger's event (``terminal_event`` for a task that ended)."""
    return WaitEvent(
        status=outcome.value,
        workflow_task_id=workflow_task_id,
        task_status=task_status,
        message=message,
        error_code=error_code,
        retryable=retryable,
    )


# ---- the XCom contract: parsed Outputs, parsed NodeResults, final status; the operator's TaskId ----

XCOM_RETURN_VALUE = "return_value"
XCOM_NODE_RESULTS = "node_results"
XCOM_STATUS = "status"
XCOM_WORKFLOW_TASK_ID = "workflow_task_id"


def task_result_xcoms(task: IceWorkflowTask) -> dict[str, Any]:
    """The contract's keys and values for a terminal task (an empty one absent where Airflow rejects None)."""
    xcoms = {XCOM_RETURN_VALUE: task.outputs, XCOM_NODE_RESULTS: task.node_results, XCOM_STATUS: task.status}
    return xcoms if xcom_accepts_none() else {key: value for key, value in xcoms.items() if value is not None}


# ---- polling (ICE tasks run for minutes to hours: a ten-minute cap keeps long waits cheap) -----

DEFAULT_POLL_INTERVAL, DEFAULT_MAX_POLL_INTERVAL, DEFAULT_UNREACHABLE_TIMEOUT = 30.0, 600.0, 3600.0


def next_poll_interval(elapsed: float, poll_interval: float, max_poll_interval: float | None) -> float:
    """Seconds to sleep after a poll made ``elapsed`` seconds into the wait.

    Starts at ``poll_interval``, grows with the time waited (never beyond elapsed/9, so a task that
    ends just after a poll is seen within max(poll_interval, 10 % of the time waited)), capped at
    ``max_poll_interval``; ``max_poll_interval == poll_interval`` (or None) polls at a fixed rate.
    """
    cap = poll_interval if max_poll_interval is None else max(max_poll_interval, poll_interval)
    return min(cap, max(poll_interval, elapsed / 9))


class Outage:
    """Polls that failed in a row (after the hook's retries): since when, how many, the last error.
    Its ``vars()`` are plain JSON, to be kept where a wait outlives its process."""

    def __init__(self, count: int = 0, since: float | None = None, code: str = "", last: str = "") -> None:
        self.count, self.since, self.code, self.last = count, since, code, last

    def failed(self, error: IceApiError) -> None:
        self.count += 1
        self.since = self.since or time.time()
        self.code, self.last = error.code, str(error)

    def seconds(self) -> float:
        return 0.0 if self.since is None else time.time() - self.since

    def exceeds(self, limit: float | None) -> bool:
        return limit is not None and self.since is not None and self.seconds() >= limit

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since or 0))
        return (
            f"ICE unreachable since {since} ({self.seconds():.0f}s): {self.count} polls failed in a row; "
            f"last error: {self.last}"
        )

    def give_up(self, workflow_task_id: str) -> IceApiError:
        """The error that ends a wait once the outage exceeded ``unreachable_timeout``."""
        message = f"ICE workflow task {workflow_task_id}: gave up, {self.describe()}"
        return IceApiError(self.code or "Unreachable", message, retryable=True)


#: While the status stays the same, a wait logs its poll at most this often (seconds).
LOG_EVERY = 300.0


class Wait:
    """One wait on one ICE task, as pure rules: :meth:`step` takes each poll's answer (the task, or
    the error of a poll that failed after the hook's retries) and says whether the wait ends, with
    which event; :meth:`next_sleep` how long to sleep before the next poll. The trigger, the
    sensor's poke and the start operator's non-deferrable wait all poll through this.

    :param deadline: absolute end of the wait (epoch seconds); None: no limit.
    :param outage: polls that failed in a row so far (kept across a sensor's reschedules).
    """

    def __init__(
        self,
        workflow_task_id: str,
        *,
        accept_partial_success: bool,
        poll_interval: float,
        max_poll_interval: float | None,
        unreachable_timeout: float | None,
        started_at: float,
        deadline: float | None = None,
        outage: Outage | None = None,
    ) -> None:
        self.workflow_task_id = workflow_task_id
        self.accept_partial_success = accept_partial_success
        self.poll_interval, self.max_poll_interval = poll_interval, max_poll_interval
        self.unreachable_timeout = unreachable_timeout
        self.started_at, self.deadline = started_at, deadline
        self.outage = outage or Outage()
        self.last_status: str | None = None
        self._logged_at = float("-inf")
        #: the exception that ended the wait (a permanent error, or the outage given up on), for sync callers
        self.error: Exception | None = None

    def step(self, answer: IceWorkflowTask | Exception, log: Any) -> WaitEvent | None:
        """The event that ends the wait after this answer, or None to poll on."""
        task_id = self.workflow_task_id
        if isinstance(answer, IceApiError) and answer.retryable:
            self.outage.failed(answer)
            log.warning("ICE workflow task %s: poll failed after retries (%s); polling on", task_id, answer)
            if self.outage.exceeds(self.unreachable_timeout):
                error = self.error = self.outage.give_up(task_id)
                return error_event(task_id, Outcome.ERROR, error.message, error_code=error.code, retryable=True)
        elif isinstance(answer, IceApiError):
            self.error = answer
            return error_event(task_id, Outcome.ERROR, str(answer), error_code=answer.code)
        elif isinstance(answer, Exception):  # a configuration error: the same on every poll
            self.error = answer
            return error_event(task_id, Outcome.ERROR, str(answer), error_code="InvalidConfiguration")
        else:
            if self.outage.count:
                self.outage = Outage()
            now = time.time()
            # A line when the status changes, and one every LOG_EVERY seconds while it does not
            # (a thousand waits polling every few seconds would otherwise fill the log).
            if answer.status != self.last_status or now - self._logged_at >= LOG_EVERY:
                note_status(log, answer)
                log.info("ICE workflow task %s: %s (%.0fs elapsed)", task_id, answer.status, now - self.started_at)
                self._logged_at = now
            self.last_status = answer.status
            if answer.is_terminal:
                return terminal_event(answer, self.accept_partial_success)
        now = time.time()
        if self.deadline is not None and now >= self.deadline:
            seen = f"its last status was {self.last_status!r}" if self.last_status is not None else "no status was seen"
            state = f"{seen}; {self.outage.describe()}" if self.outage.count else seen
            waited = f"after {now - self.started_at:.0f}s"
            return error_event(
                task_id, Outcome.TIMEOUT, f"Timed out waiting for ICE workflow task {task_id} {waited}; {state}."
            )
        return None

    def next_sleep(self) -> float:
        """Seconds to sleep before the next poll (never past the deadline)."""
        now = time.time()
        interval = next_poll_interval(now - self.started_at, self.poll_interval, self.max_poll_interval)
        return interval if self.deadline is None else min(interval, max(self.deadline - now, 0.0))


def log_stop(log: Any, workflow_task_id: str, error: Exception | None) -> None:
    """Log a StopAIWorkflowTask request. ICE stops real-time tasks only, so a refusal is expected:
    it is logged (its message says the task keeps running), never raised."""
    if error is None:
        log.info("ICE stopped workflow task %s (StopAIWorkflowTask).", workflow_task_id)
    else:
        log.warning("ICE workflow task %s was not stopped: %s", workflow_task_id, error)
