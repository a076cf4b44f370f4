"""IceWorkflowTaskTrigger.run() driven directly, as the triggerer would."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import warnings
from typing import Any

import pytest

from airflow_provider_ice import waiting
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS
from tests.helpers import until, use_connection

NODES = {"asr": {"Status": "failed"}, "mux": {"Status": "succeeded"}}


needs_end_from_trigger = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS, reason="end_from_trigger needs Airflow >= 3.3 (below, it raises: test_versions)"
)


async def first_event(trigger):
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    return events[0].payload


def rebuild(trigger):
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # what the triggerer stores must be plain JSON
    assert classpath == "airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger"
    return IceWorkflowTaskTrigger(**kwargs)


def test_serialize_gives_exactly_the_kwargs_that_rebuild_it():
    end_from_trigger = AIRFLOW_V_3_3_PLUS  # refused below 3.3 (test_versions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stop_on_kill below 3.3 warns that it cannot work there
        trigger = IceWorkflowTaskTrigger(
            "t-1",
            ice_conn_id="ice_prod",
            region_id="cn-beijing",
            poll_interval=7.5,
            timeout=60,
            accept_partial_success=True,
            max_poll_interval=90,
            started_at=1000.0,
            stop_on_kill=True,
            end_from_trigger=end_from_trigger,
            soft_fail=True,
            unreachable_timeout=120,
        )
    assert trigger.serialize() == (
        "airflow_provider_ice.triggers.ice.IceWorkflowTaskTrigger",
        {
            "workflow_task_id": "t-1",
            "ice_conn_id": "ice_prod",
            "region_id": "cn-beijing",
            "poll_interval": 7.5,
            "max_poll_interval": 90.0,
            "accept_partial_success": True,
            "deadline": 1060.0,
            "started_at": 1000.0,
            "stop_on_kill": True,
            "end_from_trigger": end_from_trigger,
            "soft_fail": True,
            "unreachable_timeout": 120.0,
        },
    )


@pytest.fixture
def emulator(ice_emulator, ice_connection):
    ice_emulator.backend.add_workflow("ok", running_polls=2, outputs={"o": 1}, node_results={"n": "x" * 10**6})
    ice_emulator.backend.add_workflow("bad", running_polls=1, final_status="failed", node_results=NODES)
    ice_emulator.backend.add_workflow("partial", final_status="partial-succeeded")
    ice_emulator.backend.add_workflow("slow", running_polls=10**9)
    return ice_emulator


async def test_success_event_is_small(emulator):
    task_id = emulator.backend.add_task("ok")
    event = await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.01))
    assert event == {
        "status": "success",
        "workflow_task_id": task_id,
        "task_status": "succeeded",
        "message": f"ICE workflow task {task_id} ended with status 'succeeded'.",
        "error_code": None,
        "retryable": False,
    }
    assert len(json.dumps(event)) < 1000  # NodeResults is 1 MB; the event carries none of it
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 3


async def test_failure_event_names_failed_nodes(emulator):
    task_id = emulator.backend.add_task("bad")
    event = await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.01))
    assert (event["status"], event["task_status"]) == ("failure", "failed")
    assert "failed nodes: asr" in event["message"]


@pytest.mark.parametrize(("accept", "status"), [(False, "failure"), (True, "success")])
async def test_partial_success(emulator, accept, status):
    task_id = emulator.backend.add_task("partial")
    event = await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.01, accept_partial_success=accept))
    assert (event["status"], event["task_status"]) == (status, "partial-succeeded")


async def test_permanent_error_ends_after_one_call(emulator):
    event = await first_event(IceWorkflowTaskTrigger("no-such-task", poll_interval=0.01))
    assert (event["status"], event["error_code"], event["task_status"]) == (
        "error",
        "ResourceNotFound",
        None,
    )
    assert emulator.backend.calls("GetAIWorkflowTask") == 1


async def test_bad_connection_is_an_error_event(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, protocol="gopher")
    event = await first_event(IceWorkflowTaskTrigger("t", poll_interval=0.01))
    assert (event["status"], event["error_code"]) == ("error", "InvalidConfiguration")
    assert "Connection 'ice_default': Protocol (protocol) is 'gopher'" in event["message"]
    assert emulator.backend.calls() == 0


async def test_transient_errors_are_retried_and_survive_an_exhausted_budget(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_attempts=2)
    task_id = emulator.backend.add_task("ok")
    emulator.backend.inject("throttling", 3)  # more than one call's budget: the trigger polls on
    emulator.backend.inject("drop", 1)
    event = await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.01))
    assert event["status"] == "success"
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 3 + 4


async def test_timeout_event(emulator):
    task_id = emulator.backend.add_task("slow")
    started = time.monotonic()
    event = await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.05, timeout=0.3))
    assert event["status"] == "timeout"
    assert event["task_status"] is None
    assert 0.3 <= time.monotonic() - started < 2


async def test_unreachable_ice_ends_the_wait_with_an_error_that_says_so(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, endpoint="127.0.0.1:9", max_attempts=1)
    trigger = IceWorkflowTaskTrigger(
        "t", poll_interval=0.05, max_poll_interval=0.05, timeout=60, unreachable_timeout=0.3
    )
    started = time.monotonic()
    event = await first_event(rebuild(trigger))
    assert (event["status"], event["error_code"], event["retryable"]) == ("error", "ConnectionFailed", True)
    message = event["message"]
    assert "ICE unreachable since 20" in message
    polls = int(message.split(" polls failed in a row")[0].rsplit(" ", 1)[1])
    assert polls >= 3
    assert "last error: ConnectionFailed: GetAIWorkflowTask: unreachable: 127.0.0.1:9" in message
    assert 0.3 <= time.monotonic() - started < 5


async def test_a_timeout_while_ice_is_unreachable_says_so(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, endpoint="127.0.0.1:9", max_attempts=1)
    trigger = IceWorkflowTaskTrigger("t", poll_interval=0.05, timeout=0.3, unreachable_timeout=None)
    event = await first_event(trigger)
    assert event["status"] == "timeout"
    assert "ICE unreachable since" in event["message"]
    assert "no status was seen" in event["message"]


async def test_rebuilt_from_serialize_mid_wait_carries_on(emulator):
    emulator.backend.add_workflow("five", running_polls=5, outputs={"o": 1})
    task_id = emulator.backend.add_task("five")
    trigger = IceWorkflowTaskTrigger(task_id, poll_interval=0.05, timeout=30)
    run = trigger.run().__aiter__()
    pending = asyncio.ensure_future(run.__anext__())
    await until(lambda: emulator.backend.calls("GetAIWorkflowTask", task_id) >= 2, "the trigger's second poll")
    pending.cancel()  # the triggerer restarts
    with pytest.raises(asyncio.CancelledError):
        await pending
    await run.aclose()  # type: ignore[attr-defined]
    again = rebuild(trigger)
    assert (again.workflow_task_id, again.deadline, again.started_at) == (
        task_id,
        trigger.deadline,
        trigger.started_at,
    )
    event = await first_event(again)
    assert event["status"] == "success"
    assert emulator.backend.calls("GetAIWorkflowTask", task_id) == 6


@pytest.mark.parametrize(
    ("log_every", "expected"), [(300.0, ["running", "succeeded"]), (0.0, ["running", "running", "succeeded"])]
)
async def test_a_poll_is_logged_when_the_status_changes_and_at_an_interval(
    emulator, caplog, capsys, monkeypatch, log_every, expected
):
    monkeypatch.setattr(waiting, "LOG_EVERY", log_every)
    caplog.set_level(logging.INFO)
    task_id = emulator.backend.add_task("ok")  # running, running, succeeded
    await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.01))

    def poll_lines(logs: str) -> list[str]:
        return [line for line in logs.splitlines() if f"ICE workflow task {task_id}: " in line and "elapsed" in line]

    # Airflow 3's triggers log through structlog to stdout, Airflow 2's through logging (caplog);
    # Airflow 2 also echoes them to stdout, so read one source, not both.
    lines = poll_lines(caplog.text) or poll_lines(capsys.readouterr().out)
    assert [re.search(r": (\w+) \(", line).group(1) for line in lines] == expected  # type: ignore[union-attr]
    # the first poll's line (its elapsed time is the first poll's delay, a loaded machine's second at most)
    assert int(re.search(r"running \((\d+)s elapsed\)", lines[0]).group(1)) <= 2  # type: ignore[union-attr]


def test_poll_interval_must_be_positive():
    with pytest.raises(Exception, match="poll_interval"):
        IceWorkflowTaskTrigger("t", poll_interval=0)


async def only_event(trigger):
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    return events[0]


@needs_end_from_trigger
@pytest.mark.parametrize(
    ("workflow", "task_id", "soft_fail", "state", "has_xcom"),
    [
        ("ok", None, False, "success", True),
        ("bad", None, False, "failed", True),
        ("bad", None, True, "skipped", True),
        ("partial", None, False, "failed", True),
        (None, "no-such-task", True, "failed", False),
    ],
)
async def test_end_from_trigger_ends_the_task_with_the_xcom_contract(
    emulator, workflow, task_id, soft_fail, state, has_xcom
):
    task_id = task_id or emulator.backend.add_task(workflow)
    event = await only_event(
        IceWorkflowTaskTrigger(task_id, poll_interval=0.01, end_from_trigger=True, soft_fail=soft_fail)
    )
    assert str(event.task_instance_state) == state
    if has_xcom:
        assert set(event.xcoms) == contract_keys(emulator, task_id)
        assert event.xcoms["status"] == emulator.backend.tasks[task_id].status
    else:
        assert event.xcoms is None


def contract_keys(emulator, task_id: str) -> set[str]:
    """The XCom keys of a terminal task: an empty Outputs/NodeResults is left out on Airflow 3.0."""
    from airflow_provider_ice.version_compat import xcom_accepts_none

    workflow = emulator.backend.tasks[task_id].workflow
    fields = {"return_value": workflow.outputs, "node_results": workflow.node_results}
    return {"status"} | {key for key, value in fields.items() if value is not None or xcom_accepts_none()}


class _FakeXComStore:
    """Stands in for the triggerer's supervisor behind ``XCom.aset`` (a real triggerer process is
    needed for that path; the distributed e2e test runs it for real)."""

    def __init__(self, behaviour: str = "store") -> None:
        self.behaviour = behaviour
        self.stored: dict[tuple[str, str, str, int, str], object] = {}

    async def aset(self, key, value, *, dag_id, task_id, run_id, map_index):
        if self.behaviour == "fail":
            raise RuntimeError("supervisor went away")
        if self.behaviour == "hang":
            await asyncio.sleep(3600)
        self.stored[(dag_id, task_id, run_id, map_index, key)] = value


@needs_end_from_trigger
@pytest.mark.parametrize(
    ("workflow", "behaviour", "pushed_here"),
    [("ok", "store", True), ("bad", "store", False), ("ok", "fail", False), ("ok", "hang", False)],
)
async def test_end_from_trigger_writes_xcoms_itself_when_the_task_ends(
    emulator, monkeypatch, workflow, behaviour, pushed_here
):
    from types import SimpleNamespace

    sdk_xcom = pytest.importorskip("airflow.sdk.execution_time.xcom", reason="Airflow 3's task SDK (XCom.aset)")
    from airflow_provider_ice.triggers import ice as trigger_module

    store = _FakeXComStore(behaviour)
    monkeypatch.setattr(sdk_xcom.XCom, "aset", store.aset, raising=False)
    monkeypatch.setattr(trigger_module, "XCOM_PUSH_TIMEOUT", 0.2)
    task_id = emulator.backend.add_task(workflow)
    trigger = IceWorkflowTaskTrigger(task_id, poll_interval=0.01, end_from_trigger=True)
    trigger.task_instance = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=3)  # type: ignore[assignment]
    event = await only_event(trigger)
    if pushed_here:  # a success ends the task: its XComs are written as a task writes them
        assert event.xcoms is None
        assert store.stored[("d", "t", "r", 3, "status")] == "succeeded"
        assert set(store.stored) == {("d", "t", "r", 3, key) for key in ("return_value", "node_results", "status")}
    else:  # a failure may be retried (Airflow then drops the event's XComs), or the push failed
        assert set(event.xcoms) == contract_keys(emulator, task_id)
        assert store.stored == {}


@needs_end_from_trigger
async def test_end_from_trigger_timeout_with_soft_fail_skips(emulator):
    task_id = emulator.backend.add_task("slow")
    event = await only_event(
        IceWorkflowTaskTrigger(task_id, poll_interval=0.05, timeout=0.2, end_from_trigger=True, soft_fail=True)
    )
    assert str(event.task_instance_state) == "skipped"


async def test_the_trigger_never_takes_the_sdks_async_path(emulator, monkeypatch):
    """The SDK's *_async path builds a session and SSL context per request on the loop: never used."""
    from darabonba.core import DaraCore

    async def forbidden(*args, **kwargs):
        raise AssertionError("DaraCore.async_do_action called")

    monkeypatch.setattr(DaraCore, "async_do_action", staticmethod(forbidden))
    task_id = emulator.backend.add_task("ok")
    event = await first_event(IceWorkflowTaskTrigger(task_id, poll_interval=0.01))
    assert event["status"] == "success"


def test_connection_uri_form(monkeypatch, ice_emulator):
    """The URI form (docs/connection.md: extras as query parameters) parses into the same connection."""
    from airflow.models.connection import Connection

    from airflow_provider_ice.hooks.ice import IceHook

    uri = (
        f"alibaba-cloud-ice://{ice_emulator.access_key_id}:{ice_emulator.access_key_secret}@/"
        f"?region_id=cn-shanghai&endpoint={ice_emulator.endpoint}&protocol=http"
    )
    monkeypatch.setenv("AIRFLOW_CONN_ICE_URI", uri)
    ice_emulator.backend.add_workflow("wf")
    task_id = ice_emulator.backend.add_task("wf")
    assert IceHook(ice_conn_id="ice_uri").get_workflow_task(task_id).status == "succeeded"
    # the scheme the page shows; the underscored one parses as a URI with no scheme, as it says
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "connection.md")) as f:
        page = f.read()
    assert "AIRFLOW_CONN_ICE_DEFAULT='alibaba-cloud-ice://" in page and 'Unknown hook type ""' in page
    assert Connection(conn_id="x", uri=uri.replace("alibaba-cloud-ice", "alibaba_cloud_ice")).conn_type == ""
    assert Connection(conn_id="x", uri=uri).conn_type == "alibaba_cloud_ice"


def test_the_provider_never_asks_for_a_connection_uri(monkeypatch, ice_emulator):
    """Connection.get_uri() warns about the underscored conn_type (apache/airflow#34419); the calls
    that remain are Airflow's own (docs/connection.md), none is ours."""
    import sys

    from airflow.models.connection import Connection

    from airflow_provider_ice.hooks.ice import IceHook

    classes: list[Any] = [Connection]
    try:
        from airflow.sdk.definitions.connection import Connection as TaskSdkConnection

        classes.append(TaskSdkConnection)
    except ImportError:  # Airflow 2: one Connection class
        pass
    callers: list[str] = []
    for cls in classes:
        original = cls.get_uri

        def get_uri(self: Any, _original: Any = original) -> str:
            callers.append(sys._getframe(1).f_globals.get("__name__", ""))
            return str(_original(self))

        monkeypatch.setattr(cls, "get_uri", get_uri)
    use_connection(monkeypatch, ice_emulator)
    ice_emulator.backend.add_workflow("wf")
    hook = IceHook()
    assert hook.get_workflow_task(ice_emulator.backend.add_task("wf")).status == "succeeded"
    hook.test_connection()
    assert not [caller for caller in callers if caller.startswith("airflow_provider_ice")], callers
    Connection(conn_id="probe", conn_type="alibaba_cloud_ice").get_uri()  # the probe sees a caller
    assert callers[-1] == __name__


async def test_the_first_poll_spreads_wider_when_thousands_of_waits_start_at_once(monkeypatch):
    """One wait polls within 5 s of starting; 3,000 starting at once in the process spread their first
    polls over 15 s (5 s per thousand), never beyond the poll interval."""
    import airflow_provider_ice.triggers.ice as module

    bounds: list[float] = []

    def uniform(low: float, high: float) -> float:
        bounds.append(high)
        return 0.0

    monkeypatch.setattr(module.random, "uniform", uniform)
    alone = IceWorkflowTaskTrigger("t", poll_interval=30)
    await alone._first_poll_delay()
    monkeypatch.setattr(module, "_first_polls_pending", 2999)
    await alone._first_poll_delay()
    await IceWorkflowTaskTrigger("t", poll_interval=10)._first_poll_delay()
    assert bounds == [5.0, 15.0, 10.0]
    assert module._first_polls_pending == 2999  # each delay counted itself out again
