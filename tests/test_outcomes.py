from __future__ import annotations

import pytest

from airflow_provider_ice.models import IceWorkflowTask
from airflow_provider_ice.waiting import Outcome, decide, describe, failed_nodes


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
    assert failed_nodes(node_results) == names


def test_describe_names_task_status_and_nodes():
    task = IceWorkflowTask(task_id="t-1", status="partial-succeeded", node_results={"asr": {"Status": "failed"}})
    message = describe(task, Outcome.FAILURE)
    assert "t-1" in message
    assert "'partial-succeeded'" in message
    assert "accept_partial_success=True" in message
    assert "failed nodes: asr" in message
