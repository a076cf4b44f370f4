"""The waiting rules: what a status means, what a failed node is, how an outage is ridden out."""

from __future__ import annotations

import time

import pytest

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.models import IceWorkflowTask
from airflow_provider_ice.waiting import Outcome, decide, describe, failed_nodes
from tests.helpers import use_connection


@pytest.mark.parametrize(
    ("status", "accept", "outcome"),
    [
        ("succeeded", False, Outcome.SUCCESS),
        ("partial-succeeded", False, Outcome.FAILURE),
        ("partial-succeeded", True, Outcome.SUCCESS),
        ("failed", True, Outcome.FAILURE),
        ("stopped", True, Outcome.FAILURE),
    ],
)
def test_decide(status, accept, outcome):
    assert decide(status, accept) is outcome


@pytest.mark.parametrize(
    ("node_results", "names"),
    [
        ({"asr": {"Status": "failed"}, "mt": {"Status": "succeeded"}, "tts": {"status": "Error"}}, ["asr", "tts"]),
        ([{"NodeId": "n1", "Status": "succeeded"}, {"NodeName": "n2", "State": "stopped"}], ["n2"]),
        ({"a": "failed", "b": "succeeded"}, ["a"]),
        ("not structured", []),
        (None, []),
    ],
)
def test_failed_nodes(node_results, names):
    assert [name for name, _ in failed_nodes(node_results)] == names


def test_a_failed_nodes_error_message_is_in_the_failure_shortened():
    nodes = {
        "transcode": {"Status": "failed", "ErrorCode": "InvalidCodec", "ErrorMessage": "codec not supported"},
        "asr": {"status": "Error", "error_message": "audio   track\nmissing"},
        "mt": {"Status": "failed", "Message": "x" * 1000},
        "tts": {"Status": "failed"},
    }
    message = describe(IceWorkflowTask(task_id="t", status="failed", node_results=nodes), Outcome.FAILURE)
    assert "failed nodes: transcode (codec not supported); asr (audio track missing); mt (" in message
    assert "x" * 299 + "…); tts." in message and "x" * 300 not in message


def test_describe_names_task_status_and_nodes():
    task = IceWorkflowTask(task_id="t-1", status="partial-succeeded", node_results={"asr": {"Status": "failed"}})
    message = describe(task, Outcome.FAILURE)
    assert "t-1" in message
    assert "'partial-succeeded'" in message
    assert "accept_partial_success=True" in message
    assert "failed nodes: asr" in message


# ---- the outage rules, run directly (fast): the same in poke mode and before deferring ---------


def _sensor(**kwargs):
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    return IceWorkflowTaskSensor(task_id="wait", workflow_task_id="t", poke_interval=0.1, **kwargs)


def test_poke_rides_out_an_outage_until_unreachable_timeout(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator, endpoint="127.0.0.1:9", max_attempts=1)
    sensor = _sensor(unreachable_timeout=0.3)
    assert sensor.poke({}) is False
    time.sleep(0.35)
    with pytest.raises(IceApiError, match="gave up, ICE unreachable since") as excinfo:
        sensor.poke({})
    assert "2 polls failed in a row" in str(excinfo.value)
    assert "unreachable: 127.0.0.1:9" in str(excinfo.value)


def test_a_poll_that_gets_an_answer_ends_the_outage(ice_emulator, ice_connection, monkeypatch):
    use_connection(monkeypatch, ice_emulator, max_attempts=1)
    ice_emulator.backend.add_workflow("wf", running_polls=10)
    ice_emulator.backend.add_task("wf", task_id="t")
    ice_emulator.backend.inject("unavailable", 1)
    sensor = _sensor(unreachable_timeout=60)
    assert sensor.poke({}) is False
    assert sensor._wait is not None and sensor._wait.outage.count == 1
    assert sensor.poke({}) is False  # running
    assert sensor._wait.outage.count == 0


def test_the_check_before_deferring_rides_out_a_transient_error_only(ice_emulator, ice_connection, monkeypatch):
    use_connection(monkeypatch, ice_emulator, max_attempts=1)
    ice_emulator.backend.add_workflow("wf", running_polls=10)
    ice_emulator.backend.add_task("wf", task_id="t")
    sensor = _sensor()
    ice_emulator.backend.inject("unavailable", 1)
    assert sensor.first_check("t") is None  # defer anyway: the trigger polls on
    assert sensor.first_check("t").status == "running"
    ice_emulator.backend.inject("non_json", 1, status=403)
    with pytest.raises(IceApiError):
        sensor.first_check("t")
