"""The fault-phase matrix: a TLS server that breaks every call at one phase (tests/fault_server.py),
for every action the hook sends, on both paths. What reached the server is counted by the server.

StartAIWorkflow is billed and has no idempotency token: it is sent again only when the server
certainly did not get it (a refused connection, a failed handshake), and exactly once after any
failure once the request was written. The Submit* actions carry a ClientToken, ICE's idempotency
key: they are sent again at every phase, with the same token. Reads and stops are sent again at
every phase.
"""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.kinds import BATCH_MEDIA_PRODUCING, MEDIA_CONVERT, MEDIA_PRODUCING, MEDIA_WORKFLOW, SNAPSHOT
from airflow_provider_ice.testing.emulator.tls import server_certificate
from tests.fault_server import AFTER_REQUEST, FaultServer, Phase
from tests.helpers import call
from tests.proxy import ForwardingProxy

ATTEMPTS = 2
ACTIONS = {
    "StartAIWorkflow": ("start_ai_workflow", ("wf",)),
    "GetAIWorkflowTask": ("get_workflow_task", ("t-1",)),
    "StopAIWorkflowTask": ("stop_ai_workflow_task", ("t-1",)),
    "SubmitMediaProducingJob": ("submit_job", (MEDIA_PRODUCING, {"ProjectId": "p", "OutputMediaConfig": "{}"})),
    "GetMediaProducingJob": ("get_job", (MEDIA_PRODUCING, "j-1")),
    "SubmitMediaConvertJob": ("submit_job", (MEDIA_CONVERT, {"Config": "{}"})),
    "GetMediaConvertJob": ("get_job", (MEDIA_CONVERT, "j-1")),
    "SubmitBatchMediaProducingJob": (
        "submit_job",
        (BATCH_MEDIA_PRODUCING, {"InputConfig": "{}", "EditingConfig": "{}", "OutputConfig": "{}"}),
    ),
    "GetBatchMediaProducingJob": ("get_job", (BATCH_MEDIA_PRODUCING, "j-1")),
    "SubmitSnapshotJob": ("submit_job", (SNAPSHOT, {"Input": "{}", "Output": "{}", "TemplateConfig": "{}"})),
    "GetSnapshotJob": ("get_job", (SNAPSHOT, "j-1")),
    "StartWorkflow": ("submit_job", (MEDIA_WORKFLOW, {"WorkflowId": "wf"})),
    "GetWorkflowTask": ("get_job", (MEDIA_WORKFLOW, "t-1")),
}
#: The starts and submits ICE documents no idempotency key for (each action's page): sent once
#: when they may have run. The other Submit* actions are resent with their ClientToken.
ONCE = frozenset({"StartAIWorkflow", "SubmitSnapshotJob", "StartWorkflow"})


#: A name only the test proxy resolves: a call that reaches the server went through the proxy.
PROXIED = "ice.behind-the-proxy.test"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return server_certificate(str(tmp_path_factory.mktemp("fault-tls")), [PROXIED])


def connect_to(monkeypatch, server: FaultServer, ca_file: str, **more: object) -> None:
    extras = {
        "region_id": "cn-shanghai",
        "endpoint": server.address,
        "protocol": "https",
        "verify": ca_file,
        "max_attempts": ATTEMPTS,
        "retry_base_delay": 0,
        "connect_timeout": 0.3,  # the handshake stall waits past it (a loopback connection takes microseconds)
        "read_timeout": 0.3,  # the stall phase waits past it
        **more,
    }
    conn = {"conn_type": "alibaba_cloud_ice", "login": "LTAIfaultKey", "password": "fault-secret", "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_ICE_DEFAULT", json.dumps(conn))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("phase", list(Phase))
def test_a_call_broken_at_each_phase_is_resent_only_if_it_certainly_did_not_run(
    certificate, monkeypatch, caplog, phase, action, mode
):
    ca_file, cert_file, key_file = certificate
    method, args = ACTIONS[action]
    caplog.set_level(logging.WARNING, logger="airflow_provider_ice.client.retry")
    with FaultServer(phase, cert_file, key_file) as server:
        connect_to(monkeypatch, server, ca_file)
        with pytest.raises(IceApiError) as excinfo:
            call(mode, method, *args)
    err = excinfo.value
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    written = phase in AFTER_REQUEST
    start = action in ONCE
    attempts = 1 if start and written else ATTEMPTS

    assert len(retries) == attempts - 1, [r.getMessage() for r in retries]
    assert server.requests[action] == (attempts if written else 0)
    if phase in (Phase.HANDSHAKE, Phase.HANDSHAKE_STALL):
        assert server.connections == ATTEMPTS
    assert err.may_have_run is written
    if start and written:
        made = "a job" if action == "SubmitSnapshotJob" else "a task from workflow wf"
        assert f"may have created {made}" in str(err)
        assert "it was not sent again" in str(err)
    if action.startswith("Submit") and not start and written:  # resent with its ClientToken, then given up on
        assert "may have created a job (ClientToken " in str(err)
    assert ("TLS handshake" in str(err)) is (phase is Phase.HANDSHAKE)
    if phase is Phase.BAD_RECORD:
        assert f"the TLS connection to {server.address} broke after {action} was sent" in str(err)
    if phase is Phase.HANDSHAKE_STALL:  # the same words on both paths (requests says "read timed out")
        assert f"{action}: unreachable: {server.address} — connect timed out" in str(err)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("phase", [Phase.HANDSHAKE, Phase.BAD_RECORD])
def test_through_a_proxy_the_phase_is_that_of_the_request_to_ice(certificate, monkeypatch, phase, mode):
    """The proxy's CONNECT tunnel is written before the request: it does not count as sending it."""
    ca_file, cert_file, key_file = certificate
    with FaultServer(phase, cert_file, key_file) as server, ForwardingProxy({PROXIED: "127.0.0.1"}) as proxy:
        endpoint = f"{PROXIED}:{server.address.rsplit(':', 1)[1]}"
        connect_to(monkeypatch, server, ca_file, endpoint=endpoint, proxy=proxy.url)
        with pytest.raises(IceApiError) as excinfo:
            call(mode, "start_ai_workflow", "wf")
    written = phase is Phase.BAD_RECORD
    assert proxy.tunnels_to(endpoint) == (1 if written else ATTEMPTS)
    assert server.requests["StartAIWorkflow"] == (1 if written else 0)
    assert excinfo.value.may_have_run is written
