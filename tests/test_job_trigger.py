"""IceJobTrigger, the one trigger of every job kind but AI workflows (whose IceWorkflowTaskTrigger
is its subclass), against the emulator: its serialized form, its events, start_from_trigger."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from airflow_provider_ice.triggers.ice import IceJobTrigger
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS
from tests.job_tables import GET, ID_FIELD, ID_XCOM, STATUSES

#: (kind, final status, the event's outcome) for each documented final status (a batch's from its sub-jobs)
FINALS = [(kind, success, "success") for kind, (success, _, _) in STATUSES.items()] + [
    (kind, final, "failure") for kind, (_, failures, _) in STATUSES.items() for final in failures
]


@pytest.fixture
def emulator(ice_emulator, ice_connection):
    return ice_emulator


async def events_of(trigger):
    return [event async for event in trigger.run()]


def test_serialize_gives_exactly_the_kwargs_that_rebuild_it():
    positional = ("j-1", "ice_prod", "cn-beijing", 7.5, 60, False, 90)
    trigger = IceJobTrigger(*positional, started_at=1000.0, kind="media_convert")
    classpath, kwargs = trigger.serialize()
    assert (classpath, kwargs) == (
        "airflow_provider_ice.triggers.ice.IceJobTrigger",
        {
            "kind": "media_convert",
            "job_id": "j-1",
            "ice_conn_id": "ice_prod",
            "region_id": "cn-beijing",
            "poll_interval": 7.5,
            "max_poll_interval": 90.0,
            "accept_partial_success": False,
            "deadline": 1060.0,
            "started_at": 1000.0,
            "stop_on_kill": False,
            "end_from_trigger": False,
            "soft_fail": False,
            "unreachable_timeout": 3600.0,
        },
    )
    json.dumps(kwargs)
    assert IceJobTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_a_media_workflow_trigger_names_its_id_as_the_sensor_does():
    """Serialized under the kind's name for the id (workflow_task_id): the sensor's template field of
    that name is then a trigger kwarg, and a start_from_trigger triggerer renders it."""
    trigger = IceJobTrigger(workflow_task_id="t-1", started_at=1000.0, kind="media_workflow")
    classpath, kwargs = trigger.serialize()
    assert (kwargs["kind"], kwargs["workflow_task_id"], "job_id" in kwargs) == ("media_workflow", "t-1", False)
    assert IceJobTrigger(**kwargs).serialize() == (classpath, kwargs)
    with pytest.raises(ValueError, match="give the job's id once, as workflow_task_id"):
        IceJobTrigger(kind="media_workflow")


def test_an_unknown_kind_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"kind must be one of .*media_convert"):
        IceJobTrigger("j-1", kind="smart_tagging")


@pytest.mark.parametrize(("kind", "final", "outcome"), FINALS)
async def test_the_event_is_small_and_names_the_job(emulator, kind, final, outcome):
    job_id = emulator.backend.jobs.add(kind, running_polls=2, final_status=final, error_code="E1", error_message="m")
    [event] = await events_of(IceJobTrigger(job_id, poll_interval=0.01, kind=kind))
    assert event.payload["status"] == outcome
    assert (event.payload[ID_XCOM[kind]], event.payload["task_status"]) == (job_id, final)
    why = "failed nodes: Transcode (m)" if kind == "media_workflow" else "error E1: m"
    assert (why in event.payload["message"]) == (outcome == "failure")
    assert emulator.backend.calls(GET[kind], job_id) == 3  # 2 running, then the final answer


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="start_from_trigger needs Airflow >= 3.3")
@pytest.mark.parametrize(("kind", "final", "outcome"), FINALS)
async def test_start_from_trigger_runs_the_job_trigger_which_ends_the_task(
    emulator, caplog, capsys, kind, final, outcome
):
    """A job sensor with start_from_trigger: the triggerer builds IceJobTrigger from the sensor's
    StartTriggerArgs and ends the task itself, with the XCom contract; an undocumented running
    status on the way is warned about once and polled on."""
    caplog.set_level(logging.INFO)
    plan = {"running_polls": 3, "running_status": "Rendering", "final_status": final}
    job_id = emulator.backend.jobs.add(kind, error_code="E1", error_message="bad input", **plan)
    sensor = sensor_for(kind, job_id, poke_interval=0.01)
    args = sensor.start_trigger_args
    assert args is not None and args.trigger_kwargs is not None
    assert args.trigger_cls == "airflow_provider_ice.triggers.ice.IceJobTrigger"
    assert (args.trigger_kwargs["kind"], args.trigger_kwargs[ID_XCOM[kind]]) == (kind, job_id)
    [event] = await events_of(IceJobTrigger(**args.trigger_kwargs))
    assert str(event.task_instance_state) == ("success" if outcome == "success" else "failed")
    assert event.xcoms["status"] == final
    assert event.xcoms["return_value"][ID_FIELD[kind]] == job_id
    if outcome == "failure" and kind != "media_workflow":
        assert (event.xcoms["return_value"]["Code"], event.xcoms["return_value"]["Message"]) == ("E1", "bad input")
    # Airflow 3's triggers log through structlog to stdout, Airflow 2's through logging (caplog).
    warning = "reports status 'Rendering', which is none of the statuses"

    def warned(logs: str) -> list[str]:
        return [line for line in logs.splitlines() if warning in line]

    assert len(warned(caplog.text) or warned(capsys.readouterr().out)) == 1  # once, though 3 polls saw it


def sensor_for(kind: str, job_id: str, **kwargs: Any) -> Any:
    """The kind's sensor with start_from_trigger, its id given under the sensor's own parameter."""
    from airflow_provider_ice.sensors import media
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    sensors = {
        "media_producing": media.IceMediaProducingJobSensor,
        "media_convert": media.IceMediaConvertJobSensor,
        "batch_media_producing": media.IceBatchMediaProducingJobSensor,
        "snapshot": media.IceSnapshotJobSensor,
    }
    if kind == "ai_workflow":
        return IceWorkflowTaskSensor(task_id="w", workflow_task_id=job_id, start_from_trigger=True, **kwargs)
    if kind == "media_workflow":
        return media.IceMediaWorkflowTaskSensor(task_id="w", workflow_task_id=job_id, start_from_trigger=True, **kwargs)
    return sensors[kind](task_id="w", job_id=job_id, start_from_trigger=True, **kwargs)


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="start_from_trigger needs Airflow >= 3.3")
@pytest.mark.parametrize("kind", ["ai_workflow", *STATUSES])
def test_a_start_from_trigger_triggerer_renders_what_the_trigger_polls(kind):
    """With start_from_trigger the triggerer renders the trigger's attributes named like the
    sensor's template fields that are trigger kwargs (BaseTrigger's task_instance setter, then
    render_template_fields): rendering the id must change the job the trigger polls, whatever the
    sensor's parameter is called."""
    from airflow_provider_ice.triggers import ice

    sensor = sensor_for(kind, "{{ params.id }}")
    args = sensor.start_trigger_args
    assert args is not None and args.trigger_kwargs is not None
    trigger = getattr(ice, args.trigger_cls.rpartition(".")[2])(**args.trigger_kwargs)
    # Airflow 3.3's rule (airflow/triggers/base.py): the task's template fields that are trigger
    # kwargs and attributes of the trigger.
    rendered = [field for field in sensor.template_fields if field in args.trigger_kwargs and hasattr(trigger, field)]
    assert rendered
    for field in rendered:
        setattr(trigger, field, {"ice_conn_id": "ice_default", "region_id": None}.get(field, "rendered-id"))
    assert trigger.job_id == "rendered-id"
