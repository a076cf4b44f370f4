from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from airflow_provider_ice.models import (
    TERMINAL_STATUSES,
    IceWorkflowTask,
    IceWorkflowTaskStatus,
    parse_json_field,
)

# GetAIWorkflowTask's response as the API reference shows it: its example values, and Outputs and
# UserData as JSON *objects* (although the schema types them as strings).
DOCUMENTED_RESPONSE: dict[str, Any] = {
    "RequestId": "******11-DB8D-4A9A-875B-275798******",
    "WorkflowTask": {
        "TaskId": "********-67fd-43aa-9cc1-3e7f********",
        "Status": "succeeded",
        "Inputs": '{"source_language_id":"en","live_id":123,"live_url":{"url":"rtmp://test.com.cn/video/638d9088fe4f15ce"}}',
        "Outputs": {"subtitle_url": "https://example.oss-cn-shanghai.aliyuncs.com/out.srt"},
        "NodeResults": '{"node_1":{"Status":"succeeded"}}',
        "UserData": {"NotifyAddress": "https://example.com/callback"},
        "CreateTime": "2025-07-28T02:17:26Z",
        "FinishTime": "2025-08-19T02:28:22Z",
        "Version": "1",
        "Workflow": {
            "WorkflowId": "****3f44-f1f6-477e-9364-c5e6c49e****",
            "Name": "RealtimeTranslation",
            "Status": "Draft",
            "Type": "Live",
            "Version": "1",
            "Graph": '{"nodes":[]}',
            "CreateTime": "2025-08-20T01:35:04Z",
            "ModifiedTime": "2025-08-20T01:35:04Z",
        },
    },
}


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ('{"a": 1}', {"a": 1}),
        ({"a": 1}, {"a": 1}),
        ("[1, 2]", [1, 2]),
        ("not json {", "not json {"),
        ("oss://bucket/key.mp4", "oss://bucket/key.mp4"),
        ("", None),
        ("   ", None),
        (None, None),
        (b'{"b": 2}', {"b": 2}),
    ],
)
def test_parse_json_field(raw, parsed):
    assert parse_json_field(raw) == parsed


def test_documented_response_parses_string_and_object_fields():
    task = IceWorkflowTask.from_api(DOCUMENTED_RESPONSE["WorkflowTask"])
    assert task.task_id == "********-67fd-43aa-9cc1-3e7f********"
    assert task.status == IceWorkflowTaskStatus.SUCCEEDED
    assert task.is_terminal
    assert task.inputs["live_url"]["url"].startswith("rtmp://")
    assert task.outputs == {"subtitle_url": "https://example.oss-cn-shanghai.aliyuncs.com/out.srt"}
    assert task.node_results == {"node_1": {"Status": "succeeded"}}
    assert task.user_data == {"NotifyAddress": "https://example.com/callback"}
    assert task.finish_time == "2025-08-19T02:28:22Z"
    assert task.workflow is not None
    assert task.workflow["name"] == "RealtimeTranslation"
    assert task.workflow["graph"] == {"nodes": []}


def test_record_is_immutable_and_json_round_trips():
    task = IceWorkflowTask.from_api(DOCUMENTED_RESPONSE["WorkflowTask"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.status = "failed"  # type: ignore[misc]
    assert IceWorkflowTask.from_dict(json.loads(json.dumps(task.to_dict()))) == task


def test_empty_fields_mean_absent():
    task = IceWorkflowTask.from_api({"TaskId": "t", "Status": "running", "Outputs": "", "FinishTime": ""})
    assert (task.outputs, task.node_results, task.finish_time, task.workflow) == (None, None, None, None)
    assert not task.is_terminal


def test_terminal_set():
    assert {s.value for s in IceWorkflowTaskStatus} - TERMINAL_STATUSES == {"running"}
