"""Both paths behind a real forwarding proxy that is the only route to the emulator.

The endpoint is ``ice.proxy-only.test``: no resolver knows it, only the proxy maps it to 127.0.0.1.
So a call that succeeds went through the proxy, and one that bypasses it fails to resolve.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.testing.emulator import IceEmulator
from tests.dagrun import run_dag
from tests.helpers import call, use_connection
from tests.proxy import ForwardingProxy

MODES = ["sync", "async"]
NAME = "ice.proxy-only.test"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY")


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[IceEmulator]:
    with IceEmulator(tls=True, tls_hostnames=(NAME,)) as emulator:
        yield emulator


@pytest.fixture
def emulator(tls_emulator, monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    tls_emulator.backend.reset()
    tls_emulator.backend.add_workflow("wf", running_polls=1, outputs={"video": "oss://b/o.mp4"})
    return tls_emulator


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    with ForwardingProxy({NAME: "127.0.0.1"}) as p:
        yield p


def proxy_only(monkeypatch, emulator, **extras):
    """ice_default at the name only the proxy resolves."""
    use_connection(monkeypatch, emulator, endpoint=f"{NAME}:{emulator.port}", **{"max_attempts": 1, **extras})
    return f"{NAME}:{emulator.port}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy"])
def test_both_paths_go_through_the_environment_proxy(emulator, proxy, monkeypatch, mode, var):
    address = proxy_only(monkeypatch, emulator)
    monkeypatch.setenv(var, proxy.url)
    task_id = call(mode, "start_ai_workflow", "wf", inputs={"lang": "en"})
    assert call(mode, "get_workflow_task", task_id).status == "running"
    assert call(mode, "get_workflow_task", task_id).status == "succeeded"
    assert emulator.backend.calls("StartAIWorkflow") == 1
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 2
    assert proxy.tunnels_to(address) >= 1
    assert {method for method, _ in proxy.forwarded} == {"CONNECT"}


@pytest.mark.parametrize("mode", MODES)
def test_a_submit_with_a_form_body_goes_through_the_proxy_signed(emulator, proxy, monkeypatch, mode):
    """SubmitBatchMediaProducingJob sends InputConfig and EditingConfig in a form body whose hash is
    signed: through the proxy's tunnel the emulator checks the signature and reads the body whole."""
    from airflow_provider_ice.kinds import BATCH_MEDIA_PRODUCING

    address = proxy_only(monkeypatch, emulator)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    query = {"InputConfig": '{"MediaGroupArray": []}', "EditingConfig": "{}", "OutputConfig": '{"Count": 1}'}
    job_id = call(mode, "submit_job", BATCH_MEDIA_PRODUCING, {**query, "ClientToken": f"tok-{mode}"})
    [job] = emulator.backend.jobs.snapshot()
    assert job["job_id"] == job_id
    assert {name: job["params"][name] for name in query} == query
    assert proxy.tunnels_to(address) >= 1


@pytest.mark.parametrize("mode", MODES)
def test_without_the_proxy_the_name_does_not_resolve_and_the_error_names_it(emulator, monkeypatch, mode):
    address = proxy_only(monkeypatch, emulator)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    assert excinfo.value.code == "ConnectionFailed"
    assert f"unreachable: {address} — name not resolved" in str(excinfo.value)
    assert emulator.backend.calls() == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ["upper", "lower"])
def test_no_proxy_bypasses_the_proxy(emulator, proxy, monkeypatch, mode, case):
    use_connection(monkeypatch, emulator)  # 127.0.0.1:<port>, reachable directly
    name = "HTTPS_PROXY" if case == "upper" else "https_proxy"
    monkeypatch.setenv(name, proxy.url)
    monkeypatch.setenv(name.replace("HTTPS", "NO").replace("https", "no"), "localhost,127.0.0.1")
    task_id = call(mode, "start_ai_workflow", "wf")
    assert call(mode, "get_workflow_task", task_id).status == "running"
    assert proxy.forwarded == [] and proxy.refused == []


@pytest.mark.parametrize("mode", MODES)
def test_no_proxy_that_matches_the_endpoint_sends_it_direct(emulator, proxy, monkeypatch, mode):
    """NO_PROXY naming the proxy-only host: the call goes direct, so it cannot resolve the name."""
    address = proxy_only(monkeypatch, emulator)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", ".proxy-only.test")
    with pytest.raises(IceApiError, match="name not resolved"):
        call(mode, "get_workflow_task", "t")
    assert proxy.tunnels_to(address) == 0


@pytest.mark.parametrize("mode", MODES)
def test_connection_extras_override_the_environment(emulator, proxy, monkeypatch, mode):
    # The environment points at a dead proxy and exempts the endpoint; the extras win on both counts.
    address = proxy_only(monkeypatch, emulator, proxy=proxy.url, no_proxy="localhost")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", NAME)
    assert call(mode, "get_workflow_task", emulator.backend.add_task("wf")).status == "running"
    assert proxy.tunnels_to(address) >= 1


@pytest.mark.parametrize("mode", MODES)
def test_proxy_credentials_are_sent_and_never_shown(emulator, monkeypatch, caplog, capsys, mode):
    caplog.set_level(logging.DEBUG)
    with ForwardingProxy({NAME: "127.0.0.1"}, credentials=("corp-user", "pr0xy-pa55word")) as proxy:
        address = proxy_only(monkeypatch, emulator, proxy=proxy.url)
        assert call(mode, "get_workflow_task", emulator.backend.add_task("wf")).status == "running"
        assert proxy.tunnels_to(address) >= 1

        wrong = proxy.url.replace("pr0xy-pa55word", "wr0ng-pa55word")
        proxy_only(monkeypatch, emulator, proxy=wrong, max_attempts=5)
        with pytest.raises(IceApiError) as excinfo:
            call(mode, "get_workflow_task", "t")
    err = excinfo.value
    assert (err.code, err.retryable) == ("ProxyRefused", False)
    assert "the proxy wants credentials" in str(err)
    assert len(proxy.refused) == 1  # permanent: one attempt, not five
    hook = IceHook()
    config = hook.get_connection_config()
    assert "wr0ng-pa55word" in config.secrets  # registered with Airflow's masker on lookup
    shown = str(err) + repr(config) + caplog.text + "".join(capsys.readouterr())
    assert "pa55word" not in shown


def test_plain_http_endpoint_goes_through_the_proxy_too(ice_emulator, monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    ice_emulator.backend.add_workflow("wf", running_polls=5)
    with ForwardingProxy({NAME: "127.0.0.1"}) as proxy:
        use_connection(monkeypatch, ice_emulator, endpoint=f"{NAME}:{ice_emulator.port}", max_attempts=1)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        for mode in MODES:
            assert call(mode, "get_workflow_task", ice_emulator.backend.add_task("wf")).status == "running"
        assert proxy.tunnels_to(f"{NAME}:{ice_emulator.port}") >= 2
        assert {method for method, _ in proxy.forwarded} == {"POST"}


def test_test_connection_through_the_proxy(emulator, proxy, monkeypatch):
    proxy_only(monkeypatch, emulator)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert IceHook().test_connection() == (True, "credentials/endpoint OK")
    monkeypatch.delenv("HTTPS_PROXY")
    ok, message = IceHook().test_connection()
    assert not ok and "name not resolved" in message


def test_deferrable_sensor_completes_through_the_proxy(emulator, proxy, monkeypatch, ice_airflow_db):
    address = proxy_only(monkeypatch, emulator, max_attempts=3)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    task_id = emulator.backend.add_task("wf")
    result = run_dag("ice_sensor_dags.py", "ice_sensor_deferrable_default", workflow_task_id=task_id)
    assert result.state == "success"
    assert result.xcoms_of("wait")["return_value"] == {"video": "oss://b/o.mp4"}
    # the worker's first check, the trigger's polls and the fetch on resume: all through the proxy
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) >= 3
    assert proxy.tunnels_to(address) >= 2
