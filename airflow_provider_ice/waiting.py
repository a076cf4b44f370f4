"""Waiting on an ICE job of any kind (:mod:`.kinds`), as pure rules written once for the sensors,
the trigger and the submitting operators: what a status means (:func:`decide`), the trigger's event,
the XCom contract, how often to poll, how an outage is told, and :class:`Wait`, the step every poll
goes through. No operator, sensor or trigger is imported here.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.kinds import AI_WORKFLOW, JobKind
from airflow_provider_ice.models import IceJob, IceWorkflowTask, JobRecord
from airflow_provider_ice.version_compat import xcom_accepts_none

# ---- status -> outcome, and the trigger's event ----------------------------------------------

_NODE_FAILED = frozenset({"failed", "fail", "error", "stopped", "timeout", "cancelled", "canceled"})


class Outcome(StrEnum):
    """How a wait ended; the ``status`` of the trigger's event."""

    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    TIMEOUT = "timeout"


#: The trigger's one event: ``{"status", <the kind's id key>, "task_status", "message", "error_code",
#: "retryable"}`` (the id key is ``workflow_task_id`` for AI workflows, ``job_id`` for other kinds).
#: Small on purpose: the job's results are fetched on resume.
WaitEvent = dict[str, Any]

#: The statuses ICE documents for AI workflow tasks; any other value (or none) is warned about and polled on.
DOCUMENTED_STATUSES: frozenset[str] = AI_WORKFLOW.documented
_WARNED: set[tuple[str, str, str]] = set()


def note_status(log: Any, job: JobRecord) -> None:
    """Warn, once per job and value in this process, about a status ICE does not document for the
    job's kind; the wait polls on (only a documented final status ends it)."""
    kind = job.kind
    if job.status in kind.documented or (kind.name, job.job_id, job.status) in _WARNED:
        return
    _WARNED.add((kind.name, job.job_id, job.status))
    log.warning(
        "%s %s reports %s, which is none of the statuses ICE documents (%s): polling on.",
        kind.noun,
        job.job_id,
        f"status {job.status!r}" if job.status else "no status",
        ", ".join(sorted(kind.documented)),
    )


def decide(task_status: str, accept_partial_success: bool, kind: JobKind = AI_WORKFLOW) -> Outcome:
    """A final status of ``kind`` -> success or failure: a success status succeeds, a partial one
    (AI workflows' ``partial-succeeded``) only if accepted, any other final status fails."""
    if task_status in kind.success or (task_status in kind.partial and accept_partial_success):
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
    return _shorten(str(value))


def _failure_detail(job: JobRecord) -> str:
    """What a failed job's record says of why: an AI workflow task's (or a media workflow task's)
    failed nodes with their error messages, the failed sub-jobs of a batch with theirs, another
    kind's error code and message."""
    if isinstance(job, IceWorkflowTask):
        return _nodes_detail(job.node_results, "NodeResults")
    kind = job.kind
    if kind.nodes_field is not None:
        return _nodes_detail((job.record or {}).get(kind.nodes_field), kind.nodes_field)
    code, message = job.error
    if job.status in kind.settled:
        failed = _sub_jobs_detail(job)
        return failed if code is None and message is None else f"{failed} Parent {_error_text(code, message)}"
    if code is None and message is None:
        return "ICE gave no error code or message." if kind.error_fields else "ICE reports no error fields."
    return _error_text(code, message)


def _nodes_detail(results: Any, field: str) -> str:
    nodes = [f"{name} ({error})" if error else name for name, error in failed_nodes(results)]
    return f"failed nodes: {'; '.join(nodes)}." if nodes else f"{field} names no failed node."


def _sub_jobs_detail(job: IceJob) -> str:
    """Every sub-job that did not succeed, with its status and ICE's error code and message."""
    spec, (_, others) = job.kind.sub_jobs, job.sub_jobs()
    if spec is None or not others:
        return "ICE lists no failed sub-job."
    id_field, status_field, (code_field, message_field) = spec.id_field, spec.status_field, spec.error_fields
    parts = [
        f"{sub.get(id_field) or '?'} ({sub.get(status_field)!s}, "
        f"{_error_text(_text_or_none(sub.get(code_field)), _text_or_none(sub.get(message_field)))})"
        for sub in others
    ]
    return f"failed sub-jobs: {'; '.join(parts)}."


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _error_text(code: str | None, message: str | None) -> str:
    return f"error {code or '(no code)'}: {_shorten(message or '(no message)')}"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NODE_ERROR_CHARS else text[: NODE_ERROR_CHARS - 1] + "…"


def judge(job: JobRecord, accept_partial_success: bool) -> Outcome:
    """A terminal job -> success or failure: :func:`decide` on its status, but a status that says
    nothing of success (a batch's ``Finished``) by its sub-jobs: all succeeded, a success; some, a
    success only with ``accept_partial_success``; none (or none listed), a failure."""
    if isinstance(job, IceJob) and job.status in job.kind.settled:
        succeeded, others = job.sub_jobs()
        ok = succeeded and (not others or accept_partial_success)
        return Outcome.SUCCESS if ok else Outcome.FAILURE
    return decide(job.status, accept_partial_success, job.kind)


def describe(task: JobRecord, outcome: Outcome) -> str:
    """A one-line summary naming the job, its status and (on failure) why: an AI workflow task's
    failed nodes with their error messages, a batch's failed sub-jobs with theirs, another kind's
    error code and message (each shortened to :data:`NODE_ERROR_CHARS` characters)."""
    text = f"{task.kind.noun} {task.job_id} ended with status {task.status!r}"
    partial = task.status in task.kind.partial
    if isinstance(task, IceJob) and task.status in task.kind.settled:
        succeeded, others = task.sub_jobs()
        text += f": {len(succeeded)} of {len(succeeded) + len(others)} sub-jobs succeeded"
        partial = bool(succeeded and others)
        if outcome is Outcome.SUCCESS and others:  # a partial success, accepted: say what was lost
            return f"{text} (accept_partial_success=True); {_sub_jobs_detail(task)}"
    if outcome is Outcome.SUCCESS:
        return text + "."
    if partial:
        text += " (set accept_partial_success=True to accept it)"
    return f"{text}; {_failure_detail(task)}"


def terminal_event(task: JobRecord, accept_partial_success: bool) -> WaitEvent:
    outcome = judge(task, accept_partial_success)
    return error_event(task.job_id, outcome, describe(task, outcome), task_status=task.status, kind=task.kind)


def error_event(
    workflow_task_id: str,
    outcome: Outcome,
    message: str,
    *,
    task_status: str | None = None,
    error_code: str | None = None,
    retryable: bool = False,
    kind: JobKind = AI_WORKFLOW,
) -> WaitEvent:
    """The trigger's event (``terminal_event`` for a job that ended), its id under ``kind``'s key."""
    return {
        "status": outcome.value,
        kind.id_xcom_key: workflow_task_id,
        "task_status": task_status,
        "message": message,
        "error_code": error_code,
        "retryable": retryable,
    }


# ---- the XCom contract: parsed Outputs, parsed NodeResults, final status; the operator's TaskId ----

XCOM_RETURN_VALUE = "return_value"
XCOM_NODE_RESULTS = "node_results"
XCOM_STATUS = "status"
XCOM_WORKFLOW_TASK_ID = "workflow_task_id"


def task_result_xcoms(task: JobRecord) -> dict[str, Any]:
    """The contract's keys and values for a terminal job (an empty one absent where Airflow rejects
    None): an AI workflow task's ``return_value`` (Outputs), ``node_results`` and ``status``; another
    kind's ``return_value`` (its result fields) and ``status``."""
    xcoms = task.xcom_values()
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

    def give_up(self, workflow_task_id: str, kind: JobKind = AI_WORKFLOW) -> IceApiError:
        """The error that ends a wait once the outage exceeded ``unreachable_timeout``."""
        message = f"{kind.noun} {workflow_task_id}: gave up, {self.describe()}"
        return IceApiError(self.code or "Unreachable", message, retryable=True)


#: While the status stays the same, a wait logs its poll at most this often (seconds).
LOG_EVERY = 300.0


class Wait:
    """One wait on one ICE job of any kind, as pure rules: :meth:`step` takes each poll's answer
    (the job's record, or the error of a poll that failed after the hook's retries) and says whether
    the wait ends, with which event; :meth:`next_sleep` how long to sleep before the next poll. The
    trigger, the sensors' pokes and the operators' non-deferrable waits all poll through this.

    :param workflow_task_id: the job's id (an AI workflow's TaskId, another kind's JobId).
    :param deadline: absolute end of the wait (epoch seconds); None: no limit.
    :param outage: polls that failed in a row so far (kept across a sensor's reschedules).
    :param kind: the job's kind; default AI workflows.
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
        kind: JobKind = AI_WORKFLOW,
    ) -> None:
        self.workflow_task_id, self.kind = workflow_task_id, kind
        self.accept_partial_success = accept_partial_success
        self.poll_interval, self.max_poll_interval = poll_interval, max_poll_interval
        self.unreachable_timeout = unreachable_timeout
        self.started_at, self.deadline = started_at, deadline
        self._outage = outage  # made on the first failed poll: most waits never see one
        self.last_status: str | None = None
        self._logged_at = float("-inf")
        #: the exception that ended the wait (a permanent error, or the outage given up on), for sync callers
        self.error: Exception | None = None

    @property
    def outage(self) -> Outage:
        """The polls that failed in a row so far (none: a count of 0)."""
        if self._outage is None:
            self._outage = Outage()
        return self._outage

    @outage.setter
    def outage(self, outage: Outage) -> None:
        self._outage = outage

    def step(self, answer: JobRecord | Exception, log: Any) -> WaitEvent | None:
        """The event that ends the wait after this answer, or None to poll on."""
        task_id, kind = self.workflow_task_id, self.kind
        if isinstance(answer, IceApiError) and answer.retryable:
            self.outage.failed(answer)
            log.warning("%s %s: poll failed after retries (%s); polling on", kind.noun, task_id, answer)
            if self.outage.exceeds(self.unreachable_timeout):
                error = self.error = self.outage.give_up(task_id, kind)
                return error_event(
                    task_id, Outcome.ERROR, error.message, error_code=error.code, retryable=True, kind=kind
                )
        elif isinstance(answer, IceApiError):
            self.error = answer
            return error_event(task_id, Outcome.ERROR, str(answer), error_code=answer.code, kind=kind)
        elif isinstance(answer, Exception):  # a configuration error: the same on every poll
            self.error = answer
            return error_event(task_id, Outcome.ERROR, str(answer), error_code="InvalidConfiguration", kind=kind)
        else:
            if self._outage is not None and self._outage.count:
                self._outage = None
            now = time.time()
            # A line when the status changes, and one every LOG_EVERY seconds while it does not
            # (a thousand waits polling every few seconds would otherwise fill the log).
            if answer.status != self.last_status or now - self._logged_at >= LOG_EVERY:
                note_status(log, answer)
                log.info("%s %s: %s (%.0fs elapsed)", kind.noun, task_id, answer.status, now - self.started_at)
                self._logged_at = now
            self.last_status = answer.status
            if answer.is_terminal:
                return terminal_event(answer, self.accept_partial_success)
        now = time.time()
        if self.deadline is not None and now >= self.deadline:
            seen = f"its last status was {self.last_status!r}" if self.last_status is not None else "no status was seen"
            outage = self._outage
            state = f"{seen}; {outage.describe()}" if outage is not None and outage.count else seen
            waited = f"after {now - self.started_at:.0f}s"
            message = f"Timed out waiting for {kind.noun} {task_id} {waited}; {state}."
            return error_event(task_id, Outcome.TIMEOUT, message, kind=kind)
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
