"""Adaptive polling: few calls on long tasks, bounded detection delay, an off switch, same everywhere."""

from __future__ import annotations

import time

import pytest

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator
from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from airflow_provider_ice.waiting import Wait, next_poll_interval


def simulate(duration: float, poll: float, cap: float | None) -> tuple[int, float]:
    """Calls made and detection delay for a task that ends at ``duration`` (polling starts at 0)."""
    t, calls = 0.0, 0
    while True:
        calls += 1
        if t >= duration:
            return calls, t - duration
        t += next_poll_interval(t, poll, cap)


@pytest.mark.parametrize("poll", [5.0, 10.0, 30.0, 60.0])
@pytest.mark.parametrize("duration", [1.0, 59.0, 600.0, 3599.0, 7200.0, 21600.0])
def test_detection_delay_is_bounded(poll, duration):
    _, delay = simulate(duration, poll, 600.0)
    assert delay <= max(poll, 0.1 * (duration + delay)) + 1e-9


def test_a_two_hour_task_costs_at_most_60_calls_at_the_default_interval():
    calls, _ = simulate(7200.0, 30.0, 600.0)
    assert calls <= 60
    assert simulate(7200.0, 30.0, 30.0)[0] == 241  # the off switch: a fixed rate


@pytest.mark.parametrize("cap", [None, 30.0])
def test_off_switch(cap):
    assert {next_poll_interval(t, 30.0, cap) for t in (0, 100, 10_000)} == {30.0}


def test_cap_below_poll_interval_means_fixed_rate():
    assert next_poll_interval(10_000, 60.0, 10.0) == 60.0


def test_sensor_trigger_and_operator_expose_it_the_same_way():
    sensor = IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", poke_interval=5, max_poll_interval=120)
    operator = IceStartAIWorkflowOperator(task_id="o", workflow_id="w", poll_interval=5, max_poll_interval=120)
    trigger = IceWorkflowTaskTrigger("t", poll_interval=5, max_poll_interval=120, started_at=0.0)
    assert (sensor.max_poll_interval, operator.max_poll_interval, trigger.max_poll_interval) == (120, 120, 120)
    # poke/reschedule modes and the trigger compute the same interval for the same elapsed time
    for elapsed, expected in ((0.0, 5.0), (100.0, 100 / 9), (900.0, 100.0), (5000.0, 120.0)):
        assert sensor._get_next_poke_interval(0.0, lambda e=elapsed: e, 1) == pytest.approx(expected)
        wait = Wait(
            "t",
            accept_partial_success=False,
            poll_interval=trigger.poll_interval,
            max_poll_interval=trigger.max_poll_interval,
            unreachable_timeout=None,
            started_at=time.time() - elapsed,
        )
        assert wait.next_sleep() == pytest.approx(expected, abs=0.01)
    assert trigger.serialize()[1]["max_poll_interval"] == 120


def test_non_positive_max_poll_interval_is_refused():
    with pytest.raises(Exception, match="max_poll_interval"):
        IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", max_poll_interval=0)
