"""Failures on both paths against the emulator: what is repeated per action, and what the error says."""

from __future__ import annotations

import logging
import time

import pytest

from airflow_provider_ice.client import network
from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.testing.emulator import IceEmulator
from tests.helpers import call, use_connection

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
    assert (err.code, err.retryable, err.may_have_run) == ("Timeout", False, True)
    assert "may have created a task from workflow wf" in str(err)
    assert 'UserData {"ref":"order-17"}' in str(err)
    assert emulator.backend.calls("StartAIWorkflow") == 1
    time.sleep(0.5)  # the emulator finishes the request the client gave up on
    assert len(emulator.backend.tasks) == 1  # one task, and it is the one the error tells how to find


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["drop", "server_error", "non_json"])
def test_start_is_not_repeated_when_ice_may_have_run_it(emulator, mode, kind):
    emulator.backend.inject(kind, 1, action="StartAIWorkflow")
    with pytest.raises(IceApiError, match="may have created a task") as excinfo:
        call(mode, "start_ai_workflow", "wf")
    assert "no UserData was set" in str(excinfo.value)
    assert emulator.backend.calls("StartAIWorkflow") == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["throttling", "throttling_retry_after", "unavailable"])
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
    assert (err.code, err.retryable) == ("CertificateError", False)
    assert f"TLS certificate of {emulator.endpoint} did not verify" in str(err)
    assert "'verify' extra" in str(err)
    assert retry_warnings(caplog) == []  # one attempt


@pytest.mark.parametrize("mode", MODES)
def test_https_against_a_plain_http_server_says_so_at_once(emulator, monkeypatch, caplog, mode):
    use_connection(monkeypatch, emulator, protocol="https")
    caplog.set_level(logging.WARNING)
    with pytest.raises(IceApiError, match="set the 'protocol' extra to http"):
        call(mode, "get_workflow_task", "t")
    assert retry_warnings(caplog) == []


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused_names_host_and_port(emulator, monkeypatch, mode):
    use_connection(monkeypatch, emulator, endpoint="127.0.0.1:9", max_attempts=2)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    assert excinfo.value.retryable
    assert "unreachable: 127.0.0.1:9: connection refused" in str(excinfo.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_is_not_followed(emulator, mode):
    emulator.backend.inject("redirect", 1)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    err = excinfo.value
    assert (err.code, err.status_code, err.retryable) == ("Redirect", 302, False)
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
        ("start_ai_workflow", ("wf", None, "plain text"), "user_data"),
    ],
)
def test_malformed_ids_and_json_strings_fail_before_any_call(emulator, mode, method, args, field):
    with pytest.raises(IceConfigurationError, match=field):
        call(mode, method, *args)
    assert emulator.backend.calls() == 0
