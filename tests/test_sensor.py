"""IceWorkflowTaskSensor in real DAG runs (dag.test() on the installed Airflow) against the emulator."""

from __future__ import annotations

import time

import pytest

from tests.dagrun import run_dag
from tests.helpers import use_connection

MODES = ["poke", "reschedule", "deferrable"]
OUTPUTS = {"video": "oss://bucket/out.mp4", "subtitles": {"en": "oss://bucket/en.srt"}}
NODES = {"asr": {"Status": "succeeded"}, "translate": {"Status": "failed", "Message": "quota"}}
FOREVER = 10**9


@pytest.fixture
def emulator(ice_emulator, ice_connection, ice_airflow_db):
    return ice_emulator


def start(emulator, final_status="succeeded", running_polls=2, node_results=NODES, outputs=OUTPUTS, **kw):
    emulator.backend.add_workflow(
        "wf", running_polls=running_polls, final_status=final_status, outputs=outputs, node_results=node_results, **kw
    )
    return emulator.backend.add_task("wf")


def run(mode, variant, task_id):
    from airflow_provider_ice.version_compat import AIRFLOW_V_3_0

    if mode == "reschedule" and AIRFLOW_V_3_0:
        pytest.skip("Airflow 3.0 breaks reschedule mode (the sensor refuses it: test_versions)")
    return run_dag("ice_sensor_dags.py", f"ice_sensor_{mode}_{variant}", workflow_task_id=task_id)


def assert_contract(result, status, outputs=OUTPUTS, nodes=NODES):
    xcom = result.xcoms_of("wait")
    assert xcom == {"return_value": outputs, "node_results": nodes, "status": status}


@pytest.mark.parametrize("mode", MODES)
def test_succeeded(emulator, mode):
    task_id = start(emulator)
    result = run(mode, "default", task_id)
    assert result.state == "success"
    assert result.task_states == {"wait": "success", "summarize": "success"}
    assert_contract(result, "succeeded")
    assert result.xcoms_of("summarize")["return_value"] == {"outputs": OUTPUTS, "node_results": NODES}
    polls = emulator.backend.calls("GetAIWorkflowTask", task_id)
    # 2 running answers then the terminal one; deferrable adds the final fetch on resume.
    assert polls == (4 if mode == "deferrable" else 3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("final_status", ["failed", "stopped", "partial-succeeded"])
def test_unsuccessful_end_fails_once_and_still_writes_xcom(emulator, mode, final_status):
    task_id = start(emulator, final_status=final_status)
    result = run(mode, "default", task_id)
    assert result.state == "failed"
    assert result.task_states["wait"] == "failed"
    assert result.try_numbers["wait"] == 1  # no retry of a verdict that cannot change
    assert_contract(result, final_status)


@pytest.mark.parametrize(("mode", "final_status"), [*((mode, "failed") for mode in MODES), ("deferrable", "succeeded")])
def test_empty_outputs_and_node_results_never_lose_the_status(emulator, mode, final_status):
    """Empty Outputs/NodeResults are None. Airflow 3.0's task API rejects a None XCom (HTTP 422: the
    task crashed and lost its status XCom), so there they are absent; elsewhere they are None."""
    from airflow_provider_ice.version_compat import xcom_accepts_none

    result = run(mode, "default", start(emulator, final_status=final_status, outputs=None, node_results=None))
    assert result.task_states["wait"] == ("success" if final_status == "succeeded" else "failed")
    assert result.try_numbers["wait"] == 1
    expected: dict[str, object] = {"status": final_status}
    if xcom_accepts_none():
        # A successful task returns Outputs: Airflow pushes no None return value on any line.
        expected["node_results"] = None
        if final_status != "succeeded":
            expected["return_value"] = None
    assert result.xcoms_of("wait") == expected


@pytest.mark.parametrize("mode", MODES)
def test_partial_success_accepted(emulator, mode):
    task_id = start(emulator, final_status="partial-succeeded")
    result = run(mode, "partial_ok", task_id)
    assert result.state == "success"
    assert_contract(result, "partial-succeeded")


@pytest.mark.parametrize("mode", MODES)
def test_timeout(emulator, mode):
    task_id = start(emulator, running_polls=FOREVER)
    result = run(mode, "short", task_id)
    assert result.task_states["wait"] == "failed"
    assert result.try_numbers["wait"] == 1
    assert result.xcoms_of("wait") == {}


@pytest.mark.parametrize("mode", MODES)
def test_timeout_with_soft_fail_skips(emulator, mode):
    task_id = start(emulator, running_polls=FOREVER)
    result = run(mode, "short_soft", task_id)
    assert result.task_states == {"wait": "skipped", "summarize": "skipped"}


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_does_not_hide_api_errors(emulator, mode):
    result = run(mode, "short_soft", "no-such-task")
    assert result.task_states["wait"] == "failed"


@pytest.mark.parametrize("mode", MODES)
def test_throttling_and_5xx_bursts_mid_wait(emulator, mode):
    task_id = start(emulator, running_polls=3)
    emulator.backend.inject("throttling", 3, action="GetAIWorkflowTask")
    emulator.backend.inject("server_error", 2, action="GetAIWorkflowTask")
    emulator.backend.inject("unavailable", 2, action="GetAIWorkflowTask")
    result = run(mode, "default", task_id)
    assert result.state == "success"
    assert_contract(result, "succeeded")
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) >= 4 + 7


@pytest.mark.parametrize("mode", MODES)
def test_an_outage_that_outlasts_the_hooks_retries_is_ridden_out(emulator, monkeypatch, mode):
    """One call per poll (max_attempts=1) and three failed polls in a row: every mode polls on."""
    use_connection(monkeypatch, emulator, max_attempts=1)
    task_id = start(emulator, running_polls=1)
    emulator.backend.inject("unavailable", 3, action="GetAIWorkflowTask")
    result = run(mode, "default", task_id)
    assert result.state == "success"
    assert result.try_numbers["wait"] == 1
    assert_contract(result, "succeeded")


@pytest.mark.parametrize("mode", MODES)
def test_an_outage_longer_than_unreachable_timeout_fails_the_sensor(emulator, monkeypatch, mode):
    if mode == "reschedule" and not _has_task_state_store():
        pytest.skip("reschedule mode keeps an outage in the task state store, which needs Airflow >= 3.3")
    use_connection(monkeypatch, emulator, endpoint="127.0.0.1:9", max_attempts=1)
    started = time.monotonic()
    result = run(mode, "unreachable", "t-1")
    assert result.task_states["wait"] == "failed"
    assert time.monotonic() - started < 30  # long before the 60 s timeout


def _has_task_state_store() -> bool:
    try:
        from airflow.sdk.execution_time.context import TaskStateStoreAccessor  # noqa: F401
    except ImportError:
        return False
    return True


def test_object_fields_and_non_json_strings_reach_xcom_parsed(emulator):
    task_id = start(
        emulator, running_polls=0, outputs="oss://bucket/plain-path.mp4", node_results=NODES, fields_as_objects=True
    )
    result = run("deferrable", "default", task_id)
    assert result.xcoms_of("wait")["return_value"] == "oss://bucket/plain-path.mp4"
    assert result.xcoms_of("wait")["node_results"] == NODES


def test_a_one_megabyte_node_results_reaches_xcom_whole(emulator):
    big = {f"node_{i}": {"Status": "succeeded", "Log": "x" * 1000} for i in range(1100)}
    task_id = start(emulator, node_results=big)
    result = run("deferrable", "default", task_id)
    assert result.state == "success"
    assert result.xcoms_of("wait")["node_results"] == big


@pytest.mark.parametrize("mode", MODES)
def test_blank_task_id_after_rendering_fails_before_any_call(emulator, mode):
    result = run(mode, "default", "   ")
    assert result.task_states["wait"] == "failed"
    assert emulator.backend.calls() == 0


@pytest.mark.parametrize(("field", "value"), [("poke_interval", 0), ("poke_interval", -1), ("timeout", 0)])
def test_non_positive_intervals_are_refused(field, value):
    from airflow_provider_ice.exceptions import IceConfigurationError
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    with pytest.raises(IceConfigurationError, match=field):
        IceWorkflowTaskSensor(task_id="s", workflow_task_id="t", **{field: value})


@pytest.mark.parametrize("event", [None, {}, {"status": "done", "workflow_task_id": "t"}, {"status": "success"}])
def test_execute_complete_validates_the_event(event):
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    sensor = IceWorkflowTaskSensor(task_id="s", workflow_task_id="t")
    with pytest.raises(Exception, match="Unexpected event"):
        sensor.execute_complete({}, event)


def test_sensor_template_fields():
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    assert tuple(IceWorkflowTaskSensor.template_fields) == ("workflow_task_id", "ice_conn_id", "region_id")


def test_airflow_still_asks_the_sensor_for_its_adaptive_interval(emulator, monkeypatch):
    """Poke and reschedule modes grow their interval through BaseSensorOperator's
    _get_next_poke_interval, which is not public Airflow API (version_compat.UPSTREAM_WORKAROUNDS):
    this fails on any line whose Airflow stops calling it."""
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor

    asked = []
    original = IceWorkflowTaskSensor._get_next_poke_interval

    def spy(self, *args):
        asked.append(args)
        return original(self, *args)

    monkeypatch.setattr(IceWorkflowTaskSensor, "_get_next_poke_interval", spy)
    emulator.backend.add_workflow("three", running_polls=3)
    result = run_dag(
        "ice_sensor_dags.py", "ice_sensor_poke_default", workflow_task_id=emulator.backend.add_task("three")
    )
    assert result.task_states["wait"] == "success"
    assert len(asked) >= 2  # once after each poke that saw the task running


@pytest.mark.parametrize(
    ("queues_enabled", "queue", "warned"), [("True", "ice", True), ("True", "default", True), ("False", "ice", False)]
)
def test_start_from_trigger_warns_that_its_trigger_has_no_queue(monkeypatch, queues_enabled, queue, warned):
    """Airflow writes a start_from_trigger trigger with no queue (tests/e2e/test_trigger_queues.py shows
    where it then runs): with trigger queues on, the sensor says where it will run, whatever its queue."""
    import warnings

    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
    from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS

    if not AIRFLOW_V_3_3_PLUS:
        pytest.skip("start_from_trigger needs Airflow >= 3.3 (below, the sensor defers from a worker)")
    monkeypatch.setenv("AIRFLOW__TRIGGERER__QUEUES_ENABLED", queues_enabled)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        IceWorkflowTaskSensor(task_id="w", workflow_task_id="t", start_from_trigger=True, queue=queue)
    ours = [w for w in caught if "start_from_trigger=True with trigger queues enabled" in str(w.message)]
    assert len(ours) == int(warned), [str(w.message) for w in caught]
    if warned:
        message = str(ours[0].message)
        assert f"queue={queue!r} does not pick one" in message and "deferrable=True" in message
        assert ours[0].filename == __file__  # it points at the line that built the sensor
