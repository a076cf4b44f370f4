"""Lineage: OSS objects in an ICE task's Inputs and Outputs, to OpenLineage and Airflow's hook lineage."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from airflow_provider_ice.lineage import OssObject, oss_objects
from airflow_provider_ice.models import IceWorkflowTask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_both_forms_at_any_depth_each_once():
    document = {
        "video": {"Type": "OSS", "Media": "oss://media-in/raw/talk.mp4"},
        "list": [[{"deep": "https://media-in.oss-cn-shanghai.aliyuncs.com/terms/en%20zh.csv?Expires=1&Signature=x"}]],
        "internal": "http://out-1.oss-ap-southeast-1-internal.aliyuncs.com/a/b/c.srt",
        "again": "oss://media-in/raw/talk.mp4",
        "as_json_string": json.dumps({"nested": "oss://json-bucket/k.json"}),
    }
    assert oss_objects(document) == [
        OssObject("media-in", "raw/talk.mp4"),
        OssObject("media-in", "terms/en zh.csv"),
        OssObject("out-1", "a/b/c.srt"),
        OssObject("json-bucket", "k.json"),
    ]
    assert OssObject("media-in", "raw/talk.mp4").namespace == "oss://media-in"


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "see oss://media-in/raw/talk.mp4 for details",  # prose, not an object reference
        "oss://media-in/",  # a bucket, no object
        "oss://A_B/key",  # not a bucket name
        "https://media-in.s3.amazonaws.com/key",
        "https://oss-cn-shanghai.aliyuncs.com/key",  # the endpoint, no bucket
        "{not json",
    ],
)
def test_what_is_not_an_oss_object(value):
    assert oss_objects(value) == []


def test_hook_lineage_collector_gets_inputs_and_outputs(monkeypatch):
    from airflow.providers.common.compat.lineage import hook as compat_hook

    try:
        from airflow.sdk.lineage import HookLineageCollector
    except ImportError:  # Airflow 2
        from airflow.lineage.hook import HookLineageCollector  # type: ignore[no-redef]

    collector = HookLineageCollector()
    monkeypatch.setattr(compat_hook, "get_hook_lineage_collector", lambda: collector)
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.lineage import IceLineageMixin

    task = IceWorkflowTask("t-1", "succeeded", inputs={"in": "oss://a-in/x.mp4"}, outputs={"out": "oss://b-out/y.mp4"})
    IceLineageMixin().record_lineage(task, IceHook())
    collected = collector.collected_assets
    assert [i.asset.uri for i in collected.inputs] == ["oss://a-in/x.mp4"]
    assert [o.asset.uri for o in collected.outputs] == ["oss://b-out/y.mp4"]


OUTPUTS = {
    "video": "oss://media-out/dub/talk.mp4",
    "subtitles": json.dumps({"en": "https://media-out.oss-cn-shanghai-internal.aliyuncs.com/subs/en.srt"}),
}


def test_openlineage_events_carry_the_oss_datasets(airflow_db, ice_emulator, tmp_path):
    """A DAG run in a fresh process with the OpenLineage provider writing events to a file."""
    pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
    backend = ice_emulator.backend
    backend.add_workflow("wf-lineage", running_polls=1, outputs=OUTPUTS, node_results={"asr": {"Status": "ok"}})
    backend.add_workflow("wf-fails", final_status="failed", outputs={"partial": "oss://media-out/partial.mp4"})
    backend.add_task("wf-lineage", task_id="lineage-sensor-task", inputs=json.dumps({"src": "oss://media-in/b.mp4"}))
    backend.add_task("wf-fails", task_id="lineage-failed-task", inputs=json.dumps({"src": "oss://media-in/c.mp4"}))
    events_file = tmp_path / "openlineage.jsonl"
    env = {
        **os.environ,
        "AIRFLOW_CONN_ICE_DEFAULT": ice_emulator.connection_uri(),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "ice-tests",
    }
    script = "from tests.dagrun import run_dag; print(run_dag('ice_lineage_dags.py', 'ice_lineage').task_states)"
    run = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "'start': 'success', 'wait': 'success', 'wait_failed': 'failed'" in run.stdout, run.stderr[-3000:]

    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    final = {e["job"]["name"]: e for e in events if e["eventType"] in ("COMPLETE", "FAIL") and "." in e["job"]["name"]}

    def datasets(event: dict, side: str) -> list[tuple[str, str]]:
        return [(d["namespace"], d["name"]) for d in event.get(side, [])]

    start = final["ice_lineage.start"]
    assert datasets(start, "inputs") == [("oss://media-in", "raw/talk.mp4"), ("oss://media-in", "terms/en zh.csv")]
    assert datasets(start, "outputs") == [("oss://media-out", "dub/talk.mp4"), ("oss://media-out", "subs/en.srt")]
    facet = start["run"]["facets"]["iceWorkflowTask"]
    assert (facet["workflowId"], facet["status"], len(facet["taskId"])) == ("wf-lineage", "succeeded", 32)

    wait = final["ice_lineage.wait"]
    assert datasets(wait, "inputs") == [("oss://media-in", "b.mp4")]
    assert wait["run"]["facets"]["iceWorkflowTask"]["taskId"] == "lineage-sensor-task"
    assert wait["run"]["facets"]["iceWorkflowTask"]["workflowId"] == "wf-lineage"

    failed = final["ice_lineage.wait_failed"]
    assert failed["eventType"] == "FAIL"
    assert datasets(failed, "inputs") == [("oss://media-in", "c.mp4")]
    assert datasets(failed, "outputs") == [("oss://media-out", "partial.mp4")]
    assert failed["run"]["facets"]["iceWorkflowTask"]["status"] == "failed"
