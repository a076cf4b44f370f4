"""Each Airflow line refuses exactly the features the README's support table says it lacks, with a
message naming the release they need; every other line builds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_ice.exceptions import IceConfigurationError
from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from airflow_provider_ice.versions import (
    DURABLE,
    END_FROM_TRIGGER,
    RESCHEDULE,
    START_FROM_TRIGGER,
    TRIGGER_ON_KILL,
    Feature,
    airflow_version,
    running_line,
)

# Written out per line, not derived from versions.py: this is what the README table promises.
_BELOW_3_3 = {"start_from_trigger", "end_from_trigger", "stop_on_kill", "durable"}
REFUSED: dict[tuple[int, int], set[str]] = {
    (2, 11): _BELOW_3_3,
    (3, 0): _BELOW_3_3 | {"reschedule"},
    (3, 1): _BELOW_3_3,
    (3, 2): _BELOW_3_3,
    (3, 3): set(),
}

# feature, how a DAG author asks for it, and what shows it was granted
USES: dict[str, tuple[Feature, Callable[[], Any], Callable[[Any], bool]]] = {
    "start_from_trigger": (
        START_FROM_TRIGGER,
        lambda: IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", start_from_trigger=True),
        lambda sensor: sensor.start_trigger_args.trigger_kwargs["end_from_trigger"] is True,
    ),
    "end_from_trigger": (
        END_FROM_TRIGGER,
        lambda: IceWorkflowTaskTrigger("t", end_from_trigger=True),
        lambda trigger: trigger.end_from_trigger is True,
    ),
    "stop_on_kill": (
        TRIGGER_ON_KILL,
        lambda: IceWorkflowTaskTrigger("t", stop_on_kill=True),
        lambda trigger: trigger.serialize()[1]["stop_on_kill"] is True,
    ),
    "durable": (
        DURABLE,
        lambda: IceStartAIWorkflowOperator(task_id="s", workflow_id="wf", durable=True),
        lambda operator: operator.durable is True,
    ),
    "reschedule": (
        RESCHEDULE,
        lambda: IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", mode="reschedule"),
        lambda sensor: sensor.reschedule is True,
    ),
}


@pytest.mark.parametrize("use", USES)
def test_each_line_refuses_exactly_what_the_readme_says(use: str):
    feature, build, granted = USES[use]
    line = airflow_version()
    refused = REFUSED.get(line, set())  # lines after 3.3 refuse nothing
    if use not in refused:
        assert granted(build())
        return
    with pytest.raises(IceConfigurationError) as raised:
        build()
    message = str(raised.value)
    if line in feature.broken_on:
        assert message.startswith(f"{feature.name} does not work on Airflow {running_line()}.")
    else:
        assert message.startswith(f"{feature.name} needs Airflow >= 3.3; this is Airflow {running_line()}.")
    assert feature.instead in message
