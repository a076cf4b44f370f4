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
    ("value", "expected"),
    [
        ("oss://b-in/中文/片.mp4", OssObject("b-in", "中文/片.mp4")),
        ("oss://b-in/k?versionId=1", OssObject("b-in", "k?versionId=1")),  # oss:// keys are not encoded
        ("https://B-In.OSS-cn-beijing.aliyuncs.com:443/a%3Fb.mp4", OssObject("b-in", "a?b.mp4")),
        ("https://b-in.oss.aliyuncs.com/legacy.mp4", OssObject("b-in", "legacy.mp4")),
        ("https://b-in.oss-internal.aliyuncs.com/legacy-internal.mp4", OssObject("b-in", "legacy-internal.mp4")),
        ("https://b-in.oss-accelerate.aliyuncs.com/fast.mp4#t=1", OssObject("b-in", "fast.mp4")),
    ],
)
def test_keys_and_endpoints(value, expected):
    assert oss_objects(value) == [expected]


def test_asset_uris_are_ascii_and_keep_the_whole_key():
    assert OssObject("b-in", "中文/a?b#c.mp4").uri == "oss://b-in/%E4%B8%AD%E6%96%87/a%3Fb%23c.mp4"


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


@pytest.fixture
def collector(monkeypatch):
    """A real hook lineage collector, as Airflow gives one when a lineage reader is registered (the
    common-compat provider adapts it per Airflow line)."""
    from airflow.providers.common.compat import sdk

    try:
        from airflow.sdk.lineage import HookLineageCollector
    except ImportError:  # Airflow 2
        from airflow.lineage.hook import HookLineageCollector  # type: ignore[no-redef]

    collector = HookLineageCollector()
    monkeypatch.setattr(sdk, "get_hook_lineage_collector", lambda: collector, raising=False)
    return collector


def test_hook_lineage_collector_gets_inputs_and_outputs(collector):
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.lineage import IceLineageMixin

    inputs = {"in": "oss://a-in/x.mp4", "zh": "oss://a-in/中文.mp4"}
    task = IceWorkflowTask("t-1", "succeeded", inputs=inputs, outputs={"out": "oss://b-out/y?.mp4"})
    IceLineageMixin().record_lineage(task, IceHook())
    collected = collector.collected_assets
    assert [i.asset.uri for i in collected.inputs] == ["oss://a-in/x.mp4", "oss://a-in/%E4%B8%AD%E6%96%87.mp4"]
    assert [o.asset.uri for o in collected.outputs] == ["oss://b-out/y%3F.mp4"]


@pytest.mark.parametrize(
    ("kind", "record", "inputs", "outputs"),
    [
        (
            "media_convert",
            {
                "Config": {
                    "Inputs": [{"Name": "in", "InputFile": {"Type": "OSS", "Media": "oss://raw/talk.mp4"}}],
                    "Outputs": [{"Name": "hd", "OutputFile": {"Type": "OSS", "Media": "oss://out/hd.mp4"}}],
                    "OutputGroups": [{"GroupConfig": {"OutputFileBase": {"Media": "oss://out/hls/talk.m3u8"}}}],
                }
            },
            ["oss://raw/talk.mp4"],
            ["oss://out/hd.mp4", "oss://out/hls/talk.m3u8"],
        ),
        (
            "media_producing",
            {
                "MediaURL": "https://out-b.oss-cn-shanghai.aliyuncs.com/cut%20v2.mp4",
                "ClipsParam": {"Video1": "oss://in-b/a.mp4"},
            },
            ["oss://in-b/a.mp4"],
            ["oss://out-b/cut%20v2.mp4"],
        ),
        (
            "snapshot",
            {
                "Input": {"Type": "OSS", "Media": "oss://raw/talk.mp4"},
                "Output": {"Type": "OSS", "Media": "oss://out/cover.jpg"},
            },
            ["oss://raw/talk.mp4"],
            ["oss://out/cover.jpg"],
        ),
        (
            "media_workflow",  # ActivityResults' shape is undocumented: inputs only
            {"TaskInput": {"Type": "OSS", "Media": "oss://raw/talk.mp4"}},
            ["oss://raw/talk.mp4"],
            [],
        ),
    ],
)
@pytest.mark.parametrize("succeeded", [True, False])
def test_the_other_kinds_report_the_objects_their_fields_name(collector, kind, record, inputs, outputs, succeeded):
    """MediaConvert: Config's inputs and outputs; media producing: the clips ClipsParam (or a
    Timeline) names, and its output. What a job was to write counts only once it succeeded."""
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.lineage import IceLineageMixin
    from airflow_provider_ice.models import IceJob

    success = {"media_convert": "Complete", "media_producing": "Success", "snapshot": "Success"}
    status = success.get(kind, "Succeed") if succeeded else "Error"
    outputs = outputs if succeeded else []
    IceLineageMixin().record_lineage(IceJob(kind, "j-1", status, record), IceHook())
    collected = collector.collected_assets
    assert [i.asset.uri for i in collected.inputs] == inputs
    assert [o.asset.uri for o in collected.outputs] == outputs


@pytest.mark.parametrize(("statuses", "outputs"), [(["Success", "Failed"], ["oss://out/v1.mp4"]), (["Failed"], [])])
def test_a_batch_reports_what_its_succeeded_sub_jobs_wrote(collector, statuses, outputs):
    """A batch ends Finished whatever its sub-jobs did: only the videos that were made are outputs."""
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.lineage import IceLineageMixin
    from airflow_provider_ice.models import IceJob

    subs = [
        {"JobId": f"s-{i}", "Status": status, "MediaURL": f"oss://out/v{i}.mp4" if status == "Success" else ""}
        for i, status in enumerate(statuses, start=1)
    ]
    record = {"InputConfig": {"MediaGroupArray": [{"MediaArray": ["oss://raw/a.mp4"]}]}, "SubJobList": subs}
    IceLineageMixin().record_lineage(IceJob("batch_media_producing", "b-1", "Finished", record), IceHook())
    collected = collector.collected_assets
    assert [i.asset.uri for i in collected.inputs] == ["oss://raw/a.mp4"]
    assert [o.asset.uri for o in collected.outputs] == outputs


def test_a_lineage_failure_never_changes_the_task_outcome(collector, monkeypatch, caplog, capsys):
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.lineage import IceLineageMixin

    def broken(*args, **kwargs):
        raise ValueError("the collector broke")

    for name in ("add_input_asset", "add_input_dataset"):  # Airflow 3 / Airflow 2 (wrapped by common-compat)
        if hasattr(collector, name):
            monkeypatch.setattr(collector, name, broken)
    task = IceWorkflowTask("t-1", "failed", inputs={"in": "oss://a-in/x.mp4"})
    mixin = IceLineageMixin()
    mixin.record_lineage(task, IceHook())  # no exception
    assert mixin._lineage_task is task
    logged = caplog.text + capsys.readouterr().out
    assert "Hook lineage of ICE task t-1 not reported: the collector broke" in logged


OUTPUTS = {
    "video": "oss://media-out/dub/talk.mp4",
    "subtitles": json.dumps({"en": "https://media-out.oss-cn-shanghai-internal.aliyuncs.com/subs/en.srt"}),
}


def test_openlineage_events_carry_the_oss_datasets(ice_airflow_db, ice_emulator, tmp_path):
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
