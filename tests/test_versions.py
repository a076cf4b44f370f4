"""Each Airflow line grants, degrades (with a warning) or refuses exactly what the support table
in the docs says; the rest is built as asked."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_ice.exceptions import IceArgumentError
from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from airflow_provider_ice.version_compat import AIRFLOW_LINE, running_line

# Written out per line, not derived from version_compat.py: this is what the support table promises.
_BELOW_3_3 = {"start_from_trigger": "degrades", "stop_on_kill": "degrades", "durable": "degrades"}
EXPECTED: dict[tuple[int, int], dict[str, str]] = {
    (2, 11): {**_BELOW_3_3, "end_from_trigger": "refused"},
    (3, 0): {**_BELOW_3_3, "end_from_trigger": "refused", "reschedule": "refused"},
    (3, 1): {**_BELOW_3_3, "end_from_trigger": "refused"},
    (3, 2): {**_BELOW_3_3, "end_from_trigger": "refused"},
    (3, 3): {},
}

# how a DAG author asks for it, what shows it was granted, and what the degraded form does instead
USES: dict[str, tuple[Callable[[], Any], Callable[[Any], bool], Callable[[Any], bool]]] = {
    "start_from_trigger": (
        lambda: IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", start_from_trigger=True),
        lambda sensor: sensor.start_trigger_args.trigger_kwargs["end_from_trigger"] is True,
        lambda sensor: sensor.deferrable is True and not getattr(sensor, "start_from_trigger", False),
    ),
    "end_from_trigger": (
        lambda: IceWorkflowTaskTrigger("t", end_from_trigger=True),
        lambda trigger: trigger.end_from_trigger is True,
        lambda trigger: False,
    ),
    "stop_on_kill": (
        lambda: IceWorkflowTaskTrigger("t", stop_on_kill=True),
        lambda trigger: trigger.serialize()[1]["stop_on_kill"] is True,
        lambda trigger: trigger.serialize()[1]["stop_on_kill"] is True,  # kept, but Airflow never calls it
    ),
    "durable": (
        lambda: IceStartAIWorkflowOperator(task_id="s", workflow_id="wf", durable=True),
        lambda operator: operator.durable is True,
        lambda operator: operator.durable is False,  # common-compat's stand-in
    ),
    "reschedule": (
        lambda: IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", mode="reschedule"),
        lambda sensor: sensor.reschedule is True,
        lambda sensor: False,
    ),
}


@pytest.mark.parametrize("use", USES)
def test_each_line_grants_degrades_or_refuses_what_the_table_says(use: str):
    build, granted, degraded = USES[use]
    expected = EXPECTED.get(AIRFLOW_LINE, {}).get(use, "granted")  # lines after 3.3 grant everything
    if expected == "refused":
        with pytest.raises(IceArgumentError, match=f"(needs Airflow >= 3.3|does not work on Airflow {running_line()})"):
            build()
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build()
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if expected == "granted":
        assert granted(built) and not [m for m in said if "3.3" in m]
    else:
        assert degraded(built)
        assert any("3.3" in message for message in said), said


def test_every_upstream_workaround_is_listed_where_it_is_used():
    """The one list of non-public Airflow names and upstream workarounds names the file that uses
    each, and each is still used there."""
    import os

    from airflow_provider_ice import version_compat

    package = os.path.dirname(version_compat.__file__)
    for name, why in version_compat.UPSTREAM_WORKAROUNDS.items():
        where = why.split(":")[0].split(", ")
        symbol = "create_session" if "create_session" in name else name.split(".")[-1]
        for path in where:
            with open(os.path.join(package, path)) as f:
                assert symbol in f.read(), (name, path)
