"""What the running Airflow can do: every version probe of the provider and its tests, as flags.

Features that need a newer Airflow than ``pyproject.toml`` admits degrade below it, as upstream
operators do: a warning says what is lost and the task carries on (``start_from_trigger`` falls
back to deferring from a worker; ``stop_on_kill`` cannot stop the ICE task; ``durable`` is the
common-compat stand-in's own warning). Only what cannot work at all is refused, naming the release:
reschedule mode on Airflow 3.0 (Airflow breaks it) and a trigger's ``end_from_trigger`` below 3.3.
The support table in the docs is what the version matrix (``make test-matrix``) measured.
"""

from __future__ import annotations

import warnings

from airflow import __version__ as _AIRFLOW_VERSION

from airflow_provider_ice.exceptions import IceArgumentError

#: The running Airflow's (major, minor), e.g. ``(3, 1)``.
AIRFLOW_LINE: tuple[int, int] = tuple(int(part) for part in _AIRFLOW_VERSION.split(".")[:2])  # type: ignore[assignment]
AIRFLOW_V_3_PLUS = AIRFLOW_LINE >= (3, 0)
#: Airflow 3.0's task API rejects an XCom whose value is None (HTTP 422, the task crashes), and its
#: BaseSensorOperator crashes on a sensor's second reschedule (the first reschedule date arrives as a
#: string: TypeError).
AIRFLOW_V_3_0 = AIRFLOW_LINE == (3, 0)
#: A trigger's ``on_kill``, ``XCom.aset`` from a trigger, ``ResumableJobMixin``'s ``durable``, the
#: task state store, ``amask_secret``.
AIRFLOW_V_3_3_PLUS = AIRFLOW_LINE >= (3, 3)

_TRIGGER_XCOMS = (
    "Airflow 3.0-3.2 store the XComs a trigger hands over JSON-encoded twice (downstream tasks would read "
    "strings, not Outputs) and only 3.3 lets a trigger write them itself (XCom.aset)"
)


def running_line() -> str:
    """The running Airflow's line, e.g. ``"3.1"``."""
    return ".".join(map(str, AIRFLOW_LINE))


def xcom_accepts_none() -> bool:
    """Whether an XCom may be None here (not on Airflow 3.0)."""
    return not AIRFLOW_V_3_0


def refuse_reschedule() -> None:
    """Reschedule mode on Airflow 3.0: refused (Airflow 3.0's sensors crash on their second reschedule)."""
    if AIRFLOW_V_3_0:
        raise IceArgumentError(
            f"mode='reschedule' does not work on Airflow {running_line()}: Airflow 3.0's sensors crash on their "
            "second reschedule (BaseSensorOperator computes the run duration from a date the task API hands "
            "over as a string: TypeError); use deferrable=True or mode='poke'."
        )


def refuse_end_from_trigger() -> None:
    """A trigger that ends its task itself needs Airflow >= 3.3."""
    if not AIRFLOW_V_3_3_PLUS:
        raise IceArgumentError(
            f"end_from_trigger=True needs Airflow >= 3.3; this is Airflow {running_line()}. {_TRIGGER_XCOMS}; "
            "use deferrable=True, which frees the worker the same way."
        )


def degrade_start_from_trigger() -> bool:
    """Whether ``start_from_trigger`` works here; below 3.3 it warns that the sensor defers from a
    worker instead (which frees the worker the same way once deferred)."""
    if AIRFLOW_V_3_3_PLUS:
        return True
    warnings.warn(
        f"start_from_trigger=True needs Airflow >= 3.3 (this is Airflow {running_line()}): {_TRIGGER_XCOMS}. "
        "The sensor defers from a worker instead (deferrable=True).",
        UserWarning,
        stacklevel=3,
    )
    return False


def degrade_stop_on_kill() -> bool:
    """Whether a trigger's ``stop_on_kill`` can work here; below 3.3 it warns that a kill of the
    deferred task cannot stop the ICE task (Airflow calls no trigger ``on_kill`` there)."""
    if AIRFLOW_V_3_3_PLUS:
        return True
    warnings.warn(
        f"stop_on_kill=True needs Airflow >= 3.3 (this is Airflow {running_line()}): below it Airflow never "
        "calls a trigger's on_kill, so killing the deferred task does not stop the ICE task; stop it with "
        "StopAIWorkflowTask yourself.",
        UserWarning,
        stacklevel=3,
    )
    return False


#: Every Airflow name this provider uses that is not Airflow's public interface, and every workaround
#: of an upstream behaviour: where, why, the upstream issue, and when it can go.
UPSTREAM_WORKAROUNDS: dict[str, str] = {
    "BaseSensorOperator._get_next_poke_interval": (
        "sensors/job.py: poke and reschedule modes grow their interval as the trigger does; Airflow has "
        "no public parameter for it (only exponential_backoff). tests/test_sensor.py fails on any line "
        "where Airflow stops calling it. Present up to 3.3.2 (the newest line tested); goes when Airflow "
        "exposes a poke-interval callable."
    ),
    "airflow.sdk.execution_time.xcom.XCom.aset": (
        "triggers/ice.py: Airflow 3.3.2 stores the xcoms of a TaskSuccessEvent JSON-encoded twice "
        "(downstream tasks read strings), so a trigger that ends its task writes them itself. No "
        "upstream issue found (the AIP-72 XCom serialisation work: apache/airflow#45231, #46719). "
        "Seen on 3.3.2; recheck on every newer release: it goes once an event's xcoms reach downstream tasks "
        "decoded (tests/test_trigger.py shows it)."
    ),
    "IceHook._sync_lookup_or_raise": (
        "hooks/connection.py: dag.test()'s in-process trigger runner (apache/airflow#55236) gives triggers comms "
        "without asend, and the async connection lookup reports a stored connection as not defined "
        "(apache/airflow#57145: the same symptom in a real 3.1 triggerer). Needed up to 3.3.2 (the newest "
        "line tested); goes once that runner has async comms; the e2e suites check that a real "
        "triggerer never takes it."
    ),
    "airflow.models.Connection, TaskInstance, XComModel; airflow.utils.session.create_session": (
        "testing/pytest_plugin.py, testing/dagrun.py: a test process stores a connection and reads a "
        "dag.test() run's states and XComs; Airflow 3 up to 3.3.2 offers no public API for either outside "
        "a task. Goes when airflow.sdk offers one."
    ),
}
