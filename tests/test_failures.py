"""Failures on both paths against the emulator: what is repeated per action, and what the error says."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from airflow_provider_ice.client import network
from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.testing.emulator import IceEmulator
from tests.helpers import call, until, use_connection, wait_until

MODES = ["sync", "async"]


@pytest.fixture
def emulator(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator)
    ice_emulator.backend.add_workflow("wf", running_polls=5)
    return ice_emulator


def retry_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]


@pytest.mark.parametrize("mode", MODES)
def test_start_is_sent_once_after_a_read_timeout(emulator, monkeypatch, mode):
    use_connection(monkeypatch, emulator, read_timeout=0.3)
    emulator.backend.inject("delay", 1, action="StartAIWorkflow", delay=0.6)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "start_ai_workflow", "wf", user_data={"ref": "order-17"})
    err = excinfo.value
    assert (err.code, err.retryable, err.may_have_run) == ("ReadTimeout", False, True)
    assert "may have created a task from workflow wf" in str(err)
    assert 'UserData {"ref":"order-17"}' in str(err)
    assert emulator.backend.calls("StartAIWorkflow") == 1
    # The emulator finishes the request the client gave up on: one task, the one the error tells how to find.
    wait_until(lambda: emulator.backend.tasks, "the task of the start the client gave up on")
    assert len(emulator.backend.tasks) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["drop", "server_error", "unavailable", "non_json"])
def test_start_is_not_repeated_when_ice_may_have_run_it(emulator, mode, kind):
    emulator.backend.inject(kind, 1, action="StartAIWorkflow")
    with pytest.raises(IceApiError, match="may have created a task") as excinfo:
        call(mode, "start_ai_workflow", "wf")
    assert "no UserData was set" in str(excinfo.value)
    assert emulator.backend.calls("StartAIWorkflow") == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["throttling", "throttling_retry_after"])
def test_start_is_repeated_when_ice_refused_it(emulator, mode, kind):
    emulator.backend.inject(kind, 1, action="StartAIWorkflow", retry_after_ms=20)
    task_id = call(mode, "start_ai_workflow", "wf")
    assert list(emulator.backend.tasks) == [task_id]
    assert emulator.backend.calls("StartAIWorkflow") == 2


@pytest.mark.parametrize("mode", MODES)
def test_reads_are_repeated_after_a_drop_or_a_read_timeout(emulator, monkeypatch, mode):
    use_connection(monkeypatch, emulator, read_timeout=0.3)
    task_id = emulator.backend.add_task("wf")
    emulator.backend.inject("drop", 1, action="GetAIWorkflowTask")
    emulator.backend.inject("delay", 1, action="GetAIWorkflowTask", delay=0.6)
    assert call(mode, "get_workflow_task", task_id).status == "running"
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 3


@pytest.mark.parametrize("mode", MODES)
def test_an_untrusted_certificate_is_permanent_and_names_host_and_verify(monkeypatch, caplog, mode):
    # A fresh emulator: the SDK's pooled TLS context remembers every CA file once used for an endpoint.
    with IceEmulator(tls=True) as emulator:
        use_connection(monkeypatch, emulator, verify=True)  # the emulator's own CA is not in the store
        caplog.set_level(logging.WARNING)
        with pytest.raises(IceApiError) as excinfo:
            call(mode, "get_workflow_task", "t")
    err = excinfo.value
    assert (err.code, err.retryable) == ("UntrustedCertificate", False)
    assert f"TLS certificate of {emulator.endpoint} did not verify" in str(err)
    assert "set Verify TLS (verify) to the CA bundle" in str(err)
    assert retry_warnings(caplog) == []  # one attempt


@pytest.mark.parametrize("mode", MODES)
def test_https_against_a_plain_http_server_says_so_at_once(emulator, monkeypatch, caplog, mode):
    use_connection(monkeypatch, emulator, protocol="https")
    caplog.set_level(logging.WARNING)
    with pytest.raises(IceApiError, match="set Protocol \\(protocol\\) to http"):
        call(mode, "get_workflow_task", "t")
    assert retry_warnings(caplog) == []


@pytest.mark.parametrize("mode", MODES)
def test_plain_http_against_an_https_server_names_the_mismatch(ice_emulator_tls, monkeypatch, mode):
    use_connection(monkeypatch, ice_emulator_tls, protocol="http", max_attempts=1)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    assert "it hung up without an answer, as an HTTPS server does to plain http" in str(excinfo.value)
    assert excinfo.value.hint == (
        f"if {ice_emulator_tls.endpoint} serves HTTPS (ICE's endpoints do), set Protocol (protocol) to https"
    )


#: What nginx, and Tengine in front of Alibaba Cloud's gateways, answer to plain http on a TLS port.
_PAGE = b"<html><body><center>The plain HTTP request was sent to HTTPS port</center></body></html>"
NGINX_PLAIN_HTTP = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
    len(_PAGE),
    _PAGE,
)


@pytest.mark.parametrize("mode", MODES)
def test_a_web_servers_page_for_plain_http_on_its_tls_port_says_to_use_https(monkeypatch, mode):
    from tests.capture_server import CaptureServer

    with CaptureServer(page=NGINX_PLAIN_HTTP) as server:
        conn: dict[str, Any] = {"conn_type": "alibaba_cloud_ice", "login": "LTAIk", "password": "secret-value"}
        conn["extra"] = {"region_id": "cn-shanghai", "endpoint": server.endpoint, "protocol": "http", "read_timeout": 5}
        monkeypatch.setenv("AIRFLOW_CONN_ICE_DEFAULT", json.dumps(conn))
        with pytest.raises(IceApiError) as excinfo:
            call(mode, "get_workflow_task", "t")
    assert (excinfo.value.http_status, excinfo.value.retryable) == (400, False)
    assert excinfo.value.hint == "the server wants HTTPS: set Protocol (protocol) to https"


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused_names_host_and_port(emulator, monkeypatch, mode):
    use_connection(monkeypatch, emulator, endpoint="127.0.0.1:9", max_attempts=2)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    assert excinfo.value.retryable
    assert "unreachable: 127.0.0.1:9 — connection refused" in str(excinfo.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_is_not_followed(emulator, mode):
    emulator.backend.inject("redirect", 1)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    err = excinfo.value
    assert (err.code, err.http_status, err.retryable) == ("Redirected", 302, False)
    assert "redirect to https://ice-moved.example.com/" in str(err)
    assert emulator.backend.calls() == 1


@pytest.mark.parametrize("mode", MODES)
def test_both_paths_trust_the_same_store_for_verify_true(monkeypatch, mode):
    """verify=true trusts certifi's bundle (plus the system's) on both paths: with certifi pointing at
    the emulator's CA, a fresh emulator verifies; the SDK session and our context are built anew."""
    with IceEmulator(tls=True) as emulator:
        emulator.backend.add_workflow("wf", running_polls=5)
        monkeypatch.setattr("certifi.where", lambda: emulator.ca_file)
        monkeypatch.setattr(network, "_SSL_CONTEXTS", {})
        use_connection(monkeypatch, emulator, verify=True)
        task_id = emulator.backend.add_task("wf")
        assert call(mode, "get_workflow_task", task_id).status == "running"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("method", "args", "field"),
    [
        ("get_workflow_task", ("abc def",), "workflow_task_id"),
        ("get_workflow_task", ("abc\ndef",), "workflow_task_id"),
        ("stop_ai_workflow_task", ("abc\x00",), "workflow_task_id"),
        ("start_ai_workflow", ("wf 2",), "workflow_id"),
        ("start_ai_workflow", ("wf", "{lang: en}"), "inputs"),
    ],
)
def test_malformed_ids_and_json_strings_fail_before_any_call(emulator, mode, method, args, field):
    with pytest.raises(IceConfigurationError, match=field):
        call(mode, method, *args)
    assert emulator.backend.calls() == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "retried", "may_have_run"),
    [(403, False, False), (407, False, False), (429, True, False), (502, True, True)],
)
def test_an_html_error_page_is_read_alike_on_both_paths(emulator, mode, status, retried, may_have_run):
    """A proxy's or gateway's page: its HTTP status decides, on the SDK's path as on ours."""
    emulator.backend.inject("non_json", 1, status=status)
    task_id = emulator.backend.add_task("wf")
    if retried:
        assert call(mode, "get_workflow_task", task_id).status == "running"
        assert emulator.backend.calls("GetAIWorkflowTask") == 2
    else:
        with pytest.raises(IceApiError) as excinfo:
            call(mode, "get_workflow_task", task_id)
        assert (excinfo.value.http_status, excinfo.value.retryable) == (status, False)
        assert emulator.backend.calls("GetAIWorkflowTask") == 1
    emulator.backend.inject("non_json", 1, status=status, action="StartAIWorkflow")
    if may_have_run:
        with pytest.raises(IceApiError, match="may have created a task"):
            call(mode, "start_ai_workflow", "wf")
    elif retried:
        call(mode, "start_ai_workflow", "wf")
        assert emulator.backend.calls("StartAIWorkflow") == 2
    else:
        with pytest.raises(IceApiError) as excinfo:
            call(mode, "start_ai_workflow", "wf")
        assert not excinfo.value.may_have_run and "may have created" not in str(excinfo.value)


async def test_waiting_for_a_pooled_connection_is_not_mistaken_for_a_sent_start(emulator, monkeypatch, caplog):
    """All connections busy past connect_timeout: nothing was sent, so the start is retried, once it gets one."""
    from airflow_provider_ice.client import async_sender as transport
    from airflow_provider_ice.hooks.ice import IceHook

    monkeypatch.setattr(transport, "POOL_CONNECTIONS", 1)
    use_connection(monkeypatch, emulator, connect_timeout=0.2, read_timeout=5, max_attempts=20, retry_max_delay=0.1)
    caplog.set_level(logging.WARNING)
    busy = emulator.backend.add_task("wf")
    emulator.backend.inject("delay", 1, action="GetAIWorkflowTask", delay=1.0)
    async with IceHook() as hook:
        holder = asyncio.ensure_future(hook.aget_workflow_task(busy))  # holds the only connection 1 s
        await until(lambda: emulator.backend.calls("GetAIWorkflowTask") == 1, "the holder's request at the emulator")
        task_id = await hook.astart_ai_workflow("wf")
        await holder
    assert list(emulator.backend.tasks) == [busy, task_id]
    assert emulator.backend.calls("StartAIWorkflow") == 1
    # The start did wait for the pool, past connect_timeout, and was retried for it.
    assert any("StartAIWorkflow failed (ConnectTimeout" in m for m in retry_warnings(caplog)), retry_warnings(caplog)


async def test_concurrent_first_calls_of_one_hook_share_one_session_and_close_it(emulator):
    from airflow_provider_ice.client import async_sender as transport
    from airflow_provider_ice.hooks.ice import IceHook

    task_id = emulator.backend.add_task("wf")
    hook = IceHook()
    await asyncio.gather(*(hook.aget_workflow_task(task_id) for _ in range(3)))
    (shared,) = transport._SESSIONS[asyncio.get_running_loop()].values()
    assert shared.users == 1
    await hook.aclose()
    assert shared.session.closed


@pytest.mark.parametrize("mode", MODES)
def test_credentials_that_cannot_be_had_are_not_a_failure_to_reach_ice(emulator, monkeypatch, mode):
    """A RAM-role credential whose STS endpoint does not resolve here: nothing is sent to ICE, and a
    start is not reported as possibly created."""
    use_connection(
        monkeypatch, emulator, credential_type="ram_role_arn", role_arn="acs:ram::1:role/ice", max_attempts=1
    )
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "start_ai_workflow", "wf")
    err = excinfo.value
    assert (err.code, err.retryable, err.may_have_run) == ("NoCredentials", True, False)
    assert "Credential type (credential_type) 'ram_role_arn'" in str(err) and "may have created" not in str(err)
    assert emulator.backend.calls() == 0


def test_test_connection_names_a_credential_failure_and_what_to_check(emulator, monkeypatch):
    from airflow_provider_ice.hooks.ice import IceHook

    use_connection(monkeypatch, emulator, credential_type="ram_role_arn", role_arn="acs:ram::1:role/ice")
    ok, message = IceHook().test_connection()
    assert not ok and message.startswith("credentials failed: no credentials from Credential type (credential_type)")
    assert message.endswith("— check Role ARN (role_arn) and that the AccessKey may assume it")
    assert "unreachable" not in message


def test_test_connection_does_not_take_a_redirect_for_ice(emulator):
    from airflow_provider_ice.hooks.ice import IceHook

    emulator.backend.inject("redirect", 1)
    ok, message = IceHook().test_connection()
    assert not ok and message.startswith("not ICE: HTTP 302 redirect to ")
    assert "check Endpoint (endpoint) and Protocol (protocol)" in message
