"""IceHook against the emulator over real HTTP(S), through the real SDK (sync) and our transport (async)."""

from __future__ import annotations

import logging
import time

import pytest

from airflow_provider_ice.exceptions import NOT_SENT, IceApiError, IceConfigurationError
from airflow_provider_ice.hooks.ice import IceHook
from tests.helpers import call, use_connection

MODES = ["sync", "async"]
OUTPUTS = {"video": "oss://bucket/out.mp4", "subtitles": ["en.srt", "zh.srt"]}
NODES = {"asr": {"Status": "succeeded"}, "translate": {"Status": "succeeded", "Duration": 12}}


@pytest.fixture(params=["http", "https"])
def emulator(request, ice_emulator, ice_emulator_tls, monkeypatch):
    emu = ice_emulator if request.param == "http" else ice_emulator_tls
    use_connection(monkeypatch, emu)
    emu.backend.add_workflow("wf", running_polls=1, outputs=OUTPUTS, node_results=NODES, type="Live")
    return emu


@pytest.mark.parametrize("mode", MODES)
def test_start_poll_and_stop(emulator, mode):
    task_id = call(
        mode, "start_ai_workflow", "wf", inputs={"lang": "en"}, user_data='{"ref": "r-1"}', dispatch_tag="t1"
    )
    first = call(mode, "get_workflow_task", task_id)
    assert (first.task_id, first.status, first.is_terminal, first.outputs) == (task_id, "running", False, None)
    assert first.inputs == {"lang": "en"}
    assert first.user_data == {"ref": "r-1"}
    done = call(mode, "get_workflow_task", task_id)
    assert (done.status, done.outputs, done.node_results) == ("succeeded", OUTPUTS, NODES)
    assert done.workflow is not None and done.workflow["workflow_id"] == "wf"
    running = call(mode, "start_ai_workflow", "wf")  # a Live workflow's task: ICE can stop it
    call(mode, "stop_ai_workflow_task", running)
    assert emulator.backend.tasks[running].status == "stopped"
    assert emulator.backend.calls("StartAIWorkflow") == 2
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 2
    assert emulator.backend.calls("StopAIWorkflowTask", running) == 1


# Values that URL encoding treats specially: a literal "%20" must reach ICE as "%20" (encoded once,
# signed as sent), "+" must not turn into a space.
AWKWARD = {"url": "https://b.oss-cn-shanghai.aliyuncs.com/a%20b.mp4?x=1&y=2", "plus": "a+b c", "zh": "中文~*"}


@pytest.mark.parametrize("mode", MODES)
def test_inputs_with_percent_plus_and_query_characters_arrive_intact(emulator, mode):
    task_id = call(mode, "start_ai_workflow", "wf", inputs=AWKWARD, user_data={"note": "100% done"})
    task = call(mode, "get_workflow_task", task_id)
    assert (task.inputs, task.user_data) == (AWKWARD, {"note": "100% done"})


def test_sync_and_async_paths_return_identical_records(emulator, monkeypatch):
    monkeypatch.setattr(emulator.backend, "_clock", lambda: 1_767_225_600.0)  # same timestamps for both
    emulator.backend.add_workflow("obj", running_polls=0, outputs=OUTPUTS, node_results=NODES, fields_as_objects=True)
    for workflow in ("wf", "obj"):
        sync_id = emulator.backend.add_task(workflow, task_id=f"{workflow}-sync", user_data={"k": "v"})
        async_id = emulator.backend.add_task(workflow, task_id=f"{workflow}-async", user_data={"k": "v"})
        for _ in range(2):
            sync_task = call("sync", "get_workflow_task", sync_id).to_dict()
            async_task = call("async", "get_workflow_task", async_id).to_dict()
            for record in (sync_task, async_task):
                record.pop("task_id")
            assert sync_task == async_task
        assert sync_task["outputs"] == OUTPUTS
        assert sync_task["user_data"] == {"k": "v"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("throttling", 2),
        ("throttling_retry_after", 1),
        ("server_error", 2),
        ("unavailable", 2),
        ("drop", 2),
        ("non_json", 2),
    ],
)
def test_transient_errors_are_retried(emulator, mode, kind, count):
    task_id = emulator.backend.add_task("wf", task_id="t")
    emulator.backend.inject(kind, count, action="GetAIWorkflowTask", retry_after_ms=50)
    assert call(mode, "get_workflow_task", task_id).status == "running"
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == count + 1


@pytest.mark.parametrize("mode", MODES)
def test_read_timeout_is_retried(emulator, monkeypatch, mode):
    use_connection(monkeypatch, emulator, read_timeout=0.3)
    task_id = emulator.backend.add_task("wf", task_id="t")
    emulator.backend.inject("delay", 1, delay=1.0)
    assert call(mode, "get_workflow_task", task_id).status == "running"
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 2


@pytest.mark.parametrize("mode", MODES)
def test_retries_are_bounded(emulator, monkeypatch, mode):
    use_connection(monkeypatch, emulator, max_attempts=3)
    emulator.backend.inject("unavailable", 10)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "t")
    err = excinfo.value
    assert (err.code, err.http_status, err.retryable) == ("ServiceUnAvailable", 503, True)
    assert err.request_id
    assert emulator.backend.calls("GetAIWorkflowTask") == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_throttled_start_uses_no_attempt_and_starts_one_task(emulator, monkeypatch, mode):
    """ICE ran nothing it refused as throttled: a start waits for the quota within the time limit.
    Failed here before (Throttling.User after 2 calls), as a few of make bench's 100 mapped starts did."""
    use_connection(monkeypatch, emulator, max_attempts=2, retry_base_delay=0.01, retry_max_delay=0.01)
    emulator.backend.inject("throttling", 3, action="StartAIWorkflow")
    task_id = call(mode, "start_ai_workflow", "wf", user_data="run-1")
    assert emulator.backend.calls("StartAIWorkflow") == 4
    assert [tid for tid, t in emulator.backend.tasks.items() if t.user_data == "run-1"] == [task_id]


@pytest.mark.parametrize("mode", MODES)
def test_a_start_throttled_without_end_stops_at_the_time_limit(emulator, monkeypatch, mode):
    use_connection(
        monkeypatch, emulator, max_attempts=2, retry_base_delay=0.01, retry_max_delay=0.01, retry_max_elapsed=5
    )
    emulator.backend.inject("throttling", None, action="StartAIWorkflow")
    started = time.monotonic()
    with pytest.raises(IceApiError) as excinfo:  # refused, or its next turn past the limit: not sent
        call(mode, "start_ai_workflow", "wf")
    assert excinfo.value.code in ("Throttling.User", NOT_SENT) and not excinfo.value.may_have_run
    assert emulator.backend.calls("StartAIWorkflow") > 2
    assert time.monotonic() - started < 5 + 3
    assert not emulator.backend.tasks


@pytest.mark.parametrize("mode", MODES)
def test_other_failures_of_a_start_among_throttling_still_count(emulator, monkeypatch, mode):
    """A proxy's 408 page: nothing reached ICE, so a start retries it, within max_attempts."""
    use_connection(monkeypatch, emulator, max_attempts=2, retry_base_delay=0.01, retry_max_delay=0.01)
    emulator.backend.inject("throttling", 1, action="StartAIWorkflow")
    emulator.backend.inject("non_json", 5, action="StartAIWorkflow", status=408)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "start_ai_workflow", "wf")
    assert excinfo.value.http_status == 408
    assert emulator.backend.calls("StartAIWorkflow") == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_throttled_poll_counts_its_attempts(emulator, monkeypatch, mode):
    """A wait polls on after a poll that failed: a poll does not hold its wait's timeout up for
    retry_max_elapsed."""
    use_connection(monkeypatch, emulator, max_attempts=2, retry_base_delay=0.01, retry_max_delay=0.01)
    emulator.backend.inject("throttling", 5, action="GetAIWorkflowTask")
    with pytest.raises(IceApiError, match=r"Throttling\.User"):
        call(mode, "get_workflow_task", "t")
    assert emulator.backend.calls("GetAIWorkflowTask") == 2


@pytest.mark.parametrize("mode", MODES)
def test_total_retry_time_is_bounded(emulator, monkeypatch, mode):
    use_connection(
        monkeypatch, emulator, max_attempts=50, retry_base_delay=0.2, retry_max_delay=0.2, retry_max_elapsed=0.5
    )
    emulator.backend.inject("throttling", 50)
    with pytest.raises(IceApiError, match=r"Throttling\.User"):
        call(mode, "get_workflow_task", "t")
    # No attempt starts past 0.5 s: with backoffs of up to 0.2 s, 50 attempts would take about 5 s,
    # so the time limit, not the attempt limit, ends the call.
    assert 2 <= emulator.backend.calls("GetAIWorkflowTask") < 50


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("setup", "code", "status"),
    [
        ("wrong_secret", "SignatureDoesNotMatch", 400),
        ("unknown_key", "InvalidAccessKeyId.NotFound", 404),
        ("unknown_task", "ResourceNotFound", 404),
    ],
)
def test_permanent_errors_fail_after_one_call(emulator, monkeypatch, caplog, capsys, mode, setup, code, status):
    if setup == "wrong_secret":
        use_connection(monkeypatch, emulator, password="not-the-secret")
    elif setup == "unknown_key":
        use_connection(monkeypatch, emulator, login="LTAIunknown")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "get_workflow_task", "no-such-task")
    err = excinfo.value
    assert (err.code, err.http_status, err.retryable) == (code, status, False)
    assert code in str(err)
    assert emulator.backend.calls("GetAIWorkflowTask") == 1
    logs = caplog.text + "".join(capsys.readouterr())
    for secret in (emulator.access_key_secret, "not-the-secret"):
        assert secret not in str(err)
        assert secret not in logs


@pytest.mark.parametrize("mode", MODES)
def test_unknown_workflow_is_a_permanent_error(emulator, mode):
    with pytest.raises(IceApiError) as excinfo:
        call(mode, "start_ai_workflow", "no-such-workflow")
    assert excinfo.value.code == "ResourceNotFound"
    assert emulator.backend.calls("StartAIWorkflow") == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("method", "args", "field"),
    [
        ("get_workflow_task", ("",), "workflow_task_id"),
        ("get_workflow_task", ("   ",), "workflow_task_id"),
        ("stop_ai_workflow_task", (None,), "workflow_task_id"),
        ("start_ai_workflow", ("",), "workflow_id"),
        ("start_ai_workflow", ("wf", object()), "inputs"),
        ("start_ai_workflow", ("wf", None, {1, 2}), "user_data"),
    ],
)
def test_bad_arguments_fail_before_any_call(emulator, mode, method, args, field):
    with pytest.raises(IceConfigurationError, match=field):
        call(mode, method, *args)
    assert emulator.backend.calls() == 0


def test_test_connection(emulator, monkeypatch):
    assert IceHook().test_connection() == (True, "credentials/endpoint OK")
    use_connection(monkeypatch, emulator, password="wrong")
    ok, message = IceHook().test_connection()
    assert not ok
    assert message.startswith("rejected: SignatureDoesNotMatch")
    assert message.endswith(" — check the AccessKey Secret (password)")
    assert "wrong" not in message.replace("SignatureDoesNotMatch", "")


# The form's Test runs on a throwaway connection id (e.g. 'mbbEIfHG'): messages never name it, and
# name fields by their form labels with the extra's key.
THROWAWAY = "mbbEIfHG"


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        ({"endpoint": "127.0.0.1:9"}, "unreachable: 127.0.0.1:9 — connection refused"),
        (
            {"endpoint": "ice.name-not-resolved.invalid:80"},
            "unreachable: ice.name-not-resolved.invalid:80 — name not resolved",
        ),
        ({"protocol": "https"}, "the server answers plain http — set Protocol (protocol) to http"),
        ({"protocol": "gopher"}, "Protocol (protocol) is 'gopher'. Use https (default) or http (local servers only)."),
        ({"region_id": ""}, "Region ID (region_id) is missing. Set it to the ICE region (e.g. cn-shanghai)"),
        ({"read_timeout": "soon"}, "Read timeout (read_timeout) is 'soon', not a number of seconds."),
        ({"credential_type": "sts"}, "STS security token (security_token) is missing. Credential type 'sts' needs it."),
    ],
)
def test_test_connection_messages_name_form_labels_and_hint_the_fix(ice_emulator, monkeypatch, extras, expected):
    use_connection(monkeypatch, ice_emulator, THROWAWAY, connect_timeout=1, **extras)
    ok, message = IceHook(THROWAWAY).test_connection()
    assert not ok
    assert expected in message
    assert THROWAWAY not in message and "Connection " not in message
    assert len(message) < 200


def test_http_is_logged_as_a_warning(ice_emulator, monkeypatch, caplog, capsys):
    use_connection(monkeypatch, ice_emulator)
    caplog.set_level(logging.WARNING)
    IceHook().get_connection_config()
    assert "plain http" in caplog.text + capsys.readouterr().out


def test_region_id_from_the_hook(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator, region_id="")
    with pytest.raises(IceConfigurationError, match="region_id"):
        IceHook().get_connection_config()
    assert IceHook(region_id="eu-central-1").get_connection_config().region_id == "eu-central-1"


def test_client_is_cached_and_points_at_the_configured_endpoint(emulator):
    hook = IceHook()
    client = hook.get_conn()
    assert hook.get_conn() is client
    assert client._endpoint == emulator.endpoint


async def test_a_wait_s_poll_reads_a_running_task_s_status_and_the_whole_record_once_it_ended(
    ice_emulator, ice_connection
):
    ice_emulator.backend.add_workflow("wf", running_polls=1, outputs={"subtitles": "oss://b/s.srt"})
    task_id = ice_emulator.backend.add_task("wf", inputs={"video": "oss://b/v.mp4"}, user_data={"run": 1})
    async with IceHook() as hook:
        running = await hook.apoll_workflow_task(task_id)
        ended = await hook.apoll_workflow_task(task_id)
        assert (running.task_id, running.status, running.inputs, running.user_data) == (task_id, "running", None, None)
        assert ended == await hook.aget_workflow_task(task_id)  # the whole record, as the full read gives it
    assert (ended.status, ended.inputs, ended.outputs) == (
        "succeeded",
        {"video": "oss://b/v.mp4"},
        {"subtitles": "oss://b/s.srt"},
    )
