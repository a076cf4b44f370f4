"""The emulator on its own: signature checks on raw requests, lifecycles, faults, the command."""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request

import pytest
from alibabacloud_credentials.models import CredentialModel

from airflow_provider_ice.client.request import build_request
from airflow_provider_ice.testing.emulator import IceBackend, IceEmulatorProcess
from airflow_provider_ice.testing.emulator.protocol import answer


def raw_call(emulator, action, query, *, secret=None, tamper=None):
    credential = CredentialModel(
        access_key_id=emulator.access_key_id, access_key_secret=secret or emulator.access_key_secret
    )
    signed = build_request("https" if emulator.tls else "http", emulator.endpoint, action, query, credential)
    path, headers = signed.target, signed.headers
    if tamper:
        path, headers = tamper(path, headers)
    request = urllib.request.Request(emulator.url + path, data=b"", method="POST", headers=headers)
    context = ssl.create_default_context(cafile=emulator.ca_file) if emulator.tls else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_correctly_signed_raw_request_is_served(ice_emulator):
    ice_emulator.backend.add_workflow("wf")
    status, body = raw_call(ice_emulator, "StartAIWorkflow", {"WorkflowId": "wf", "Inputs": '{"a b": "c+d/é"}'})
    assert status == 200
    assert body["TaskId"] and body["RequestId"]


@pytest.mark.parametrize(
    ("tamper", "code", "status"),
    [
        (lambda p, h: (p.replace("TaskId=t1", "TaskId=t2"), h), "SignatureDoesNotMatch", 400),
        (lambda p, h: (p, {**h, "x-acs-action": "StopAIWorkflowTask"}), "SignatureDoesNotMatch", 400),
        (lambda p, h: (p, {k: v for k, v in h.items() if k != "Authorization"}), "IncompleteSignature", 400),
        (lambda p, h: (p, {**h, "x-acs-content-sha256": "0" * 64}), "SignatureDoesNotMatch", 400),
    ],
)
def test_tampered_requests_are_rejected(ice_emulator, tamper, code, status):
    got_status, body = raw_call(ice_emulator, "GetAIWorkflowTask", {"TaskId": "t1"}, tamper=tamper)
    assert (got_status, body["Code"]) == (status, code)
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Recommend"].endswith(f"&requestId={body['RequestId']}")


def test_wrong_secret(ice_emulator):
    status, body = raw_call(ice_emulator, "GetAIWorkflowTask", {"TaskId": "t"}, secret="nope")
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")


def test_throttling_is_http_400(ice_emulator):
    ice_emulator.backend.inject("throttling")
    status, body = raw_call(ice_emulator, "GetAIWorkflowTask", {"TaskId": "t"})
    assert (status, body["Code"]) == (400, "Throttling.User")


def test_time_based_lifecycle():
    now = [1000.0]
    backend = IceBackend(clock=lambda: now[0])
    backend.add_workflow("wf", running_seconds=60, final_status="failed")
    task_id = backend.add_task("wf")
    assert answer(backend, "GetAIWorkflowTask", {"TaskId": task_id})["WorkflowTask"]["Status"] == "running"
    now[0] += 61
    task = answer(backend, "GetAIWorkflowTask", {"TaskId": task_id})["WorkflowTask"]
    assert (task["Status"], task["Outputs"]) == ("failed", "")


def test_rate_faults_hit_a_fraction():
    backend = IceBackend()
    backend.inject("server_error", rate=0.5)
    hits = sum(backend.take_fault("GetAIWorkflowTask") is not None for _ in range(2000))
    assert 800 < hits < 1200


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="fault kind"):
        IceBackend().inject("meteor")


def test_the_command_serves_a_scenario_over_tls():
    scenario = {
        "workflows": [{"workflow_id": "wf", "running_polls": 1, "outputs": {"ok": True}}],
        "tasks": [{"workflow_id": "wf", "task_id": "given"}],
    }
    with IceEmulatorProcess(tls=True, scenario=scenario) as emulator:
        assert emulator.ca_file and emulator.url.startswith("https://127.0.0.1:")
        status, body = raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "given"})
        assert (status, body["WorkflowTask"]["Status"]) == (200, "running")
        emulator.inject("unavailable", 1)
        status, body = raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "given"})
        assert (status, body["Code"]) == (503, "ServiceUnAvailable")
        assert emulator.add_task("wf", "second") == "second"
        assert emulator.calls("GetAIWorkflowTask", "given") == 2
    # stopped: the port no longer answers
    time.sleep(0.1)
    with pytest.raises(OSError):
        urllib.request.urlopen(emulator.url, timeout=2)


def test_the_documented_scenario_loads_every_key():
    """docs/emulator.md includes tests/docs_examples/scenario.json: its workflow, task, fault, flow
    control and key pair are all in effect in the process the command starts."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "docs_examples", "scenario.json")) as f:
        scenario = json.load(f)
    with IceEmulatorProcess(scenario=scenario) as emulator:
        assert (emulator.access_key_id, emulator.access_key_secret) == ("LTAIteamKeyId", "team-secret")
        status, body = raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "t-1"})
        assert (status, body["Code"]) == (400, "Throttling.User")  # the one injected fault
        status, body = raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "t-1"})
        assert (status, body["WorkflowTask"]["Status"]) == (200, "running")
        assert emulator.calls("GetAIWorkflowTask", "t-1") == 2
        with urllib.request.urlopen(emulator.url + "/_emulator/calls", timeout=10) as response:
            assert json.loads(response.read())["limits"]["GetAIWorkflowTask"]["rate"] == 50


def test_tasks_held_by_finish_at_end_when_it_is_moved_closer():
    with IceEmulatorProcess() as emulator:
        emulator.add_workflow("held", finish_at=time.time() + 3600)
        emulator.add_task("held", "h1")
        assert raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "h1"})[1]["WorkflowTask"]["Status"] == "running"
        assert emulator.update_workflow("held", finish_at=time.time() - 1)["finish_at"] < time.time()
        assert raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "h1"})[1]["WorkflowTask"]["Status"] == "succeeded"
        with pytest.raises(urllib.error.HTTPError):
            emulator.update_workflow("held", no_such_field=1)


def test_the_workflow_record_is_as_documented(ice_emulator):
    """Workflow.Status is one of Draft/Published/Editing; Type the template's scenario (Offline by default)."""
    ice_emulator.backend.add_workflow("offline")
    ice_emulator.backend.add_workflow("live", type="Live")
    for workflow_id, workflow_type in (("offline", "Offline"), ("live", "Live")):
        task_id = ice_emulator.backend.add_task(workflow_id)
        status, body = raw_call(ice_emulator, "GetAIWorkflowTask", {"TaskId": task_id})
        workflow = body["WorkflowTask"]["Workflow"]
        assert (status, workflow["Status"], workflow["Type"]) == (200, "Published", workflow_type)


def test_a_tls_dir_keeps_the_ca_across_restarts_and_reissues_an_expiring_certificate(tmp_path, monkeypatch):
    from airflow_provider_ice.testing.emulator import tls

    scenario = {"workflows": [{"workflow_id": "wf"}], "tasks": [{"workflow_id": "wf", "task_id": "given"}]}
    cas = []
    for _ in range(2):
        with IceEmulatorProcess(tls_dir=str(tmp_path), scenario=scenario) as emulator:
            assert emulator.ca_file == str(tmp_path / "ca.pem")
            assert raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "given"})[0] == 200  # verified by the CA
            cas.append((tmp_path / "ca.pem").read_bytes())
    assert cas[0] == cas[1]  # a saved connection's verify stays valid
    issued = (tmp_path / "server.pem").read_bytes()
    tls.server_certificate(str(tmp_path))
    assert (tmp_path / "server.pem").read_bytes() == issued  # still good: kept
    monkeypatch.setattr(tls, "SERVER_CERT_DAYS", 0.5)
    (tmp_path / "server.pem").unlink()
    tls.server_certificate(str(tmp_path))  # a certificate with less than a day left ...
    expiring = (tmp_path / "server.pem").read_bytes()
    tls.server_certificate(str(tmp_path))  # ... is re-issued from the same CA on the next start
    assert (tmp_path / "server.pem").read_bytes() != expiring and (tmp_path / "ca.pem").read_bytes() == cas[0]
