"""Testing the DAG against the bundled ICE emulator: no cloud account, no network."""

from __future__ import annotations

import os

import pytest

from airflow_provider_ice.testing.dagrun import dag_from_file, run_dag

SUBTITLES = {"en": "oss://talks/keynote.en.srt", "zh": "oss://talks/keynote.zh.srt"}


@pytest.fixture
def dag():
    return dag_from_file(os.path.join(os.path.dirname(__file__), "dags", "translate.py"))


def test_publishes_the_chinese_subtitles(dag, ice_emulator, ice_stored_connection):
    ice_emulator.backend.add_workflow("subtitles-en-zh", running_polls=1, outputs={"subtitles": SUBTITLES})
    result = run_dag(dag)
    assert result.state == "success"
    assert result.xcoms_of("publish")["return_value"] == SUBTITLES["zh"]
    (task,) = ice_emulator.backend.tasks.values()
    assert task.inputs == '{"video":"oss://talks/keynote.mp4"}'


def test_a_failed_ice_task_fails_the_wait_and_skips_publishing(dag, ice_emulator, ice_stored_connection):
    nodes = {"asr": {"Status": "failed", "ErrorMessage": "no audio track"}}
    ice_emulator.backend.add_workflow("subtitles-en-zh", final_status="failed", node_results=nodes)
    result = run_dag(dag)
    assert result.task_states["wait"] == "failed"
    assert result.task_states["publish"] == "upstream_failed"
    assert result.xcoms_of("wait")["node_results"] == nodes  # nothing is lost
