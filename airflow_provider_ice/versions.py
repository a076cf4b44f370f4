"""What the running Airflow supports: the one place that compares Airflow versions.

Each feature that needs a newer Airflow than ``pyproject.toml`` admits is named here with the release
that brought it, so that asking for it below that release fails with one clear message, at once.
The support table in the README is what the version matrix (``make test-matrix``) measured.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from airflow_provider_ice.exceptions import IceArgumentError


class Feature(NamedTuple):
    """A feature that needs Airflow >= ``since`` (and is broken on the ``broken_on`` lines); ``instead``
    says what to do where it is missing."""

    name: str
    since: tuple[int, int]
    instead: str
    broken_on: tuple[tuple[int, int], ...] = ()


_TRIGGER_XCOMS = (
    "Airflow 3.0-3.2 store the XComs a trigger hands over JSON-encoded twice (downstream tasks would read "
    "strings, not Outputs) and only 3.3 lets a trigger write them itself (XCom.aset); use deferrable=True, "
    "which frees the worker the same way."
)
START_FROM_TRIGGER = Feature("start_from_trigger=True", (3, 3), _TRIGGER_XCOMS)
END_FROM_TRIGGER = Feature("end_from_trigger=True", (3, 3), _TRIGGER_XCOMS)
TRIGGER_ON_KILL = Feature(
    "stop_on_kill=True (the trigger's on_kill)",
    (3, 3),
    "Below it Airflow never calls a trigger's on_kill; stop the ICE task with StopAIWorkflowTask yourself.",
)
DURABLE = Feature(
    "durable=True (a retry reattaches to the ICE task its first try started)",
    (3, 3),
    "Below it nothing of a task's own carries the TaskId to the next try (its XComs are cleared when a try "
    "starts; there is no task state store), so a retry starts a new ICE task; leave durable unset, or set "
    "retries=0 to never start a second task.",
)

RESCHEDULE = Feature(
    "mode='reschedule'",
    (2, 11),
    "Airflow 3.0's sensors crash on their second reschedule (BaseSensorOperator computes the run duration "
    "from a date the task API hands over as a string: TypeError); use deferrable=True or mode='poke'.",
    broken_on=((3, 0),),
)


@cache
def airflow_version() -> tuple[int, int]:
    """The running Airflow's (major, minor)."""
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)


def running_line() -> str:
    """The running Airflow's line, e.g. ``"3.1"``."""
    return ".".join(map(str, airflow_version()))


def supports(feature: Feature) -> bool:
    return airflow_version() >= feature.since and airflow_version() not in feature.broken_on


def require(feature: Feature) -> None:
    """Raise :class:`IceArgumentError` naming the Airflow version ``feature`` needs, if this one is older."""
    if supports(feature):
        return
    if airflow_version() in feature.broken_on:
        raise IceArgumentError(f"{feature.name} does not work on Airflow {running_line()}. {feature.instead}")
    since = ".".join(map(str, feature.since))
    raise IceArgumentError(
        f"{feature.name} needs Airflow >= {since}; this is Airflow {running_line()}. {feature.instead}"
    )


def xcom_accepts_none() -> bool:
    """Airflow 3.0's task API rejects an XCom whose value is None (HTTP 422, the task crashes)."""
    return airflow_version() != (3, 0)
