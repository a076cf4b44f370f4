"""Wire parity: for every action the hook sends, on both paths, over http and https, the request on
the wire is what the official SDK (``alibabacloud_ice20201109.client.Client``, its sync path) sends
for the same arguments, captured by a local server: method, target (path and query, byte for
byte), HTTP version, every header but the date, nonce, signature and user agent, the signed
headers, the body.

The SDK's version is in each test's id. Its async path is not the reference (docs/hook.md says how
it was seen to differ).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest

from tests.capture_server import Captured, CaptureServer
from tests.helpers import call

SDK = f"alibabacloud-ice20201109-{version('alibabacloud-ice20201109')}"
#: Headers that differ on every request (date, nonce, signature) or say who sends it (user agent).
VARYING = frozenset({"x-acs-date", "x-acs-signature-nonce", "authorization", "user-agent"})
KEY, SECRET, TOKEN = "LTAIparityKey", "parity-secret", "parity-sts-token"
#: an SDK request model's arguments under this key are ICE's names (the model's from_map)
FROM_MAP = "from_map"
INPUTS = '{"video":"oss://talks/keynote v2.mp4","lang":["en","zh"]}'

#: action -> (our hook method and arguments, the SDK's request model and method)
CALLS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any], str, dict[str, Any]]] = {
    "StartAIWorkflow": (
        "start_ai_workflow",
        ("wf-subtitles", INPUTS),
        {"user_data": "order=17&run=a b", "dispatch_tag": "gpu"},
        "StartAIWorkflowRequest",
        {"workflow_id": "wf-subtitles", "inputs": INPUTS, "user_data": "order=17&run=a b", "dispatch_tag": "gpu"},
    ),
    "GetAIWorkflowTask": ("get_workflow_task", ("t-1",), {}, "GetAIWorkflowTaskRequest", {"task_id": "t-1"}),
    "StopAIWorkflowTask": ("stop_ai_workflow_task", ("t-1",), {}, "StopAIWorkflowTaskRequest", {"task_id": "t-1"}),
}


def _job_calls() -> None:
    """The other kinds' actions, the submits' queries built by their operators (as a DAG's task would);
    the SDK's request model gets the same values (its snake_case names)."""
    from airflow_provider_ice.kinds import (
        BATCH_MEDIA_PRODUCING,
        MEDIA_CONVERT,
        MEDIA_PRODUCING,
        MEDIA_WORKFLOW,
        SNAPSHOT,
    )
    from airflow_provider_ice.operators.batch import IceSubmitBatchMediaProducingJobOperator
    from airflow_provider_ice.operators.media import (
        IceSubmitMediaConvertJobOperator,
        IceSubmitMediaProducingJobOperator,
    )
    from airflow_provider_ice.operators.snapshot import IceSubmitSnapshotJobOperator
    from airflow_provider_ice.operators.submit_params import snake
    from airflow_provider_ice.operators.workflow import IceStartMediaWorkflowOperator

    talk = {"Type": "OSS", "Media": "oss://talks/key note.mp4"}
    config = {"Inputs": [{"Name": "in", "InputFile": talk}]}
    convert = IceSubmitMediaConvertJobOperator(
        task_id="c", config=config, pipeline_id="p-1", user_data="order=17&run=a b", client_token="tok-1"
    ).submit_query({})
    producing = IceSubmitMediaProducingJobOperator(
        task_id="p",
        template_id="tpl-1",
        clips_param={"Video1": "oss://talks/a b.mp4"},
        output_media_config={"MediaURL": "oss://out/cut.mp4"},
        output_media_target="oss-object",
        user_data={"run": "r 1"},
        client_token="tok-2",
    ).submit_query({})
    # A Timeline goes in the request body, as the SDK sends it.
    timeline = IceSubmitMediaProducingJobOperator(
        task_id="t",
        timeline={"VideoTracks": [{"VideoTrackClips": [{"MediaURL": "oss://talks/a b.mp4"}]}]},
        output_media_config={"MediaURL": "oss://out/cut.mp4"},
        client_token="tok-3",
    ).submit_query({})
    batch = IceSubmitBatchMediaProducingJobOperator(
        task_id="b",
        input_config={"MediaGroupArray": [{"GroupName": "g 1", "MediaArray": ["oss://talks/a b.mp4"]}]},
        editing_config={"MediaConfig": {"Volume": 0}},
        output_config={"MediaURL": "oss://out/v{index}.mp4", "Count": 2},
        user_data={"run": "r 1"},
        client_token="tok-4",
    ).submit_query({})
    # The SDK's snapshot models encode their fields in the model's order (Media before Type); a user's
    # dict keeps its own order (the same JSON object): given here in the model's order.
    snapshot = IceSubmitSnapshotJobOperator(
        task_id="s",
        input_file={"Media": talk["Media"], "Type": "OSS"},
        output_file={"Media": "oss://out/cover.jpg", "Type": "OSS"},
        template_config={"TemplateId": "tpl-snap"},
        name="cover 1",
        user_data={"run": "r 1"},
    ).submit_query({})
    workflow = IceStartMediaWorkflowOperator(
        task_id="w", workflow_id="wf-1", task_input=talk, user_data={"run": "r 1"}, skip_input_verification=True
    ).submit_query({})
    # The SDK's snapshot model takes objects (it JSON-encodes them itself), the others strings.
    objects = {"Input", "Output", "TemplateConfig"}
    submits = [
        (MEDIA_CONVERT, convert, ""),
        (MEDIA_PRODUCING, producing, ""),
        (MEDIA_PRODUCING, timeline, "+Timeline"),
        (BATCH_MEDIA_PRODUCING, batch, ""),
        (SNAPSHOT, snapshot, ""),
        (MEDIA_WORKFLOW, workflow, ""),
    ]
    for kind, query, variant in submits:
        model: dict[str, Any] = {snake(key): value for key, value in query.items()}
        if kind is SNAPSHOT:  # its request's objects are models: built from ICE's names (from_map)
            model = {FROM_MAP: {key: json.loads(value) if key in objects else value for key, value in query.items()}}
        if kind is MEDIA_WORKFLOW:
            model["skip_input_verification"] = query["SkipInputVerification"] == "True"
        CALLS[kind.submit_action + variant] = ("submit_job", (kind, query), {}, f"{kind.submit_action}Request", model)
        get_args = {"task_id" if kind.id_param == "TaskId" else "job_id": "j-1"}
        CALLS[kind.get_action] = ("get_job", (kind, "j-1"), {}, f"{kind.get_action}Request", get_args)


_job_calls()


def sdk_request(server: CaptureServer, action: str, sts: bool, ca_file: str | None) -> Captured:
    from alibabacloud_ice20201109 import models
    from alibabacloud_ice20201109.client import Client
    from alibabacloud_tea_openapi.models import Config
    from darabonba.runtime import RuntimeOptions

    config = Config(
        access_key_id=KEY,
        access_key_secret=SECRET,
        security_token=TOKEN if sts else None,
        protocol="https" if ca_file else "http",
        ca=ca_file,
        endpoint=server.endpoint,
        region_id="cn-shanghai",
    )
    _, _, _, model, arguments = CALLS[action]
    ai = {"StartAIWorkflow": "start_aiworkflow", "GetAIWorkflowTask": "get_aiworkflow_task"}
    ai["StopAIWorkflowTask"] = "stop_aiworkflow_task"
    name = action.partition("+")[0]  # "SubmitMediaProducingJob+Timeline": another call of the action
    method = ai.get(name) or "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    request = getattr(models, model)
    request = request().from_map(arguments[FROM_MAP]) if FROM_MAP in arguments else request(**arguments)
    getattr(Client(config), f"{method}_with_options")(request, RuntimeOptions())
    return server.take()


def our_request(server: CaptureServer, monkeypatch, action: str, sts: bool, mode: str, ca_file: str | None) -> Captured:
    extras: dict[str, Any] = {"region_id": "cn-shanghai", "endpoint": server.endpoint, "max_attempts": 1}
    extras["protocol"] = "https" if ca_file else "http"
    if ca_file:
        extras["verify"] = ca_file
    if sts:
        extras.update(credential_type="sts", security_token=TOKEN)
    conn = {"conn_type": "alibaba_cloud_ice", "login": KEY, "password": SECRET, "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_ICE_DEFAULT", json.dumps(conn))
    method, args, kwargs, _, _ = CALLS[action]
    call(mode, method, *args, **kwargs)
    return server.take()


def comparable(request: Captured) -> dict[str, Any]:
    """What must be equal: all but the varying headers, with the Authorization's algorithm,
    credential and signed headers (not its signature)."""
    authorization = request.header("authorization") or ""
    algorithm, _, fields = authorization.partition(" ")
    signed = {k: v for k, _, v in (f.partition("=") for f in fields.split(",")) if k != "Signature"}
    return {
        "method": request.method,
        "target": request.target,
        "version": request.version,
        "headers": sorted((k, v) for k, v in request.headers if k not in VARYING),
        "authorization": (algorithm, signed),
        "body": request.body,
    }


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    from airflow_provider_ice.testing.emulator.tls import server_certificate

    return server_certificate(str(tmp_path_factory.mktemp("parity-tls")))


@pytest.mark.parametrize("sts", [False, True], ids=["access-key", "sts-token"])
@pytest.mark.parametrize("action", list(CALLS))
@pytest.mark.parametrize("sdk", [SDK])
@pytest.mark.parametrize("protocol", ["http", "https"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_hook_sends_what_the_sdk_sends(monkeypatch, certificate, mode, protocol, sdk, action, sts):
    ca_file, cert_file, key_file = certificate if protocol == "https" else (None, None, None)
    with CaptureServer(cert_file, key_file) as server:
        reference = comparable(sdk_request(server, action, sts, ca_file))
        ours = comparable(our_request(server, monkeypatch, action, sts, mode, ca_file))
    assert reference["headers"], reference  # the capture saw the request
    assert ours == reference, f"differs from {sdk}'s request"
