"""End to end on real Airflow services (scheduler, dag-processor, triggerer, api-server, LocalExecutor,
PostgreSQL) against the emulator, running the example DAGs (the AI workflow, the sensor, the media
pipeline). Run alone with ``make e2e``."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections import defaultdict
from typing import Any

import pytest

from airflow_provider_ice.testing.emulator import IceEmulator
from tests.e2e.services import CHROMIUM, CHROMIUM_ARGS, AirflowStack, require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUBTITLES = "oss://bucket/en.srt"
OUTPUTS = {"subtitles": {"en": SUBTITLES}, "duration_seconds": 61}
NODES = {"asr": {"Status": "succeeded"}, "translate": {"Status": "succeeded"}}
SENSOR_OUTPUTS = {"dubbed": "oss://bucket/dub.mp4"}
DEADLINE = 300


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    emulator = IceEmulator().start()
    emulator.backend.add_workflow("demo-subtitles", running_polls=2, outputs=OUTPUTS, node_results=NODES)
    emulator.backend.add_workflow("dubbing", running_polls=2, outputs=SENSOR_OUTPUTS, node_results=NODES)
    emulator.backend.add_task("dubbing", task_id="e2e-sensor-task")
    for family in ("media_producing", "media_convert", "snapshot"):  # the pipeline's jobs wait in the triggerer
        emulator.backend.jobs.plan(family, running_polls=2)
    home = str(tmp_path_factory.mktemp("airflow-e2e"))
    airflow = AirflowStack(home, os.path.join(ROOT, "example_dags"), {})
    try:
        airflow.start(connections=(emulator.connections_add_args(),))
        yield airflow, emulator
    finally:
        airflow.stop()
        emulator.stop()
        for name in ("scheduler", "triggerer", "dag-processor", "api-server"):
            print(f"----- {name} (tail) -----\n{airflow.log_tail(name, 1500)}")


def xcom(stack: AirflowStack, dag_id: str, task_id: str, key: str) -> Any:
    rows = stack.query(
        "select value from xcom where dag_id = :d and task_id = :t and key = :k", d=dag_id, t=task_id, k=key
    )
    assert rows, (dag_id, task_id, key)
    # As stored (PostgreSQL's JSON, decoded by the driver): a value stored JSON-encoded twice reads as
    # a string here, as downstream tasks would read it.
    return rows[0][0]


def test_example_dags_on_real_services(stack):
    airflow, emulator = stack
    dags = ("example_ice_workflow", "example_ice_sensor", "example_ice_pipeline")
    airflow.wait_for(
        "the dag-processor to parse the examples",
        lambda: (
            len(airflow.query("select dag_id from dag where dag_id in :ids", ids=dags)) == len(dags)
            if airflow.db_url.startswith("postgresql")
            else len([r for r in airflow.query("select dag_id from dag") if r[0] in dags]) == len(dags)
        ),
        DEADLINE,
    )
    for dag_id in dags:
        airflow.airflow("dags", "unpause", dag_id)
    airflow.airflow("dags", "trigger", "example_ice_workflow")
    airflow.airflow(
        "dags", "trigger", "example_ice_sensor", "--conf", json.dumps({"workflow_task_id": "e2e-sensor-task"})
    )
    airflow.airflow("dags", "trigger", "example_ice_pipeline", "--conf", json.dumps({"bucket": "media-out"}))

    seen: dict[tuple[str, str], list[str]] = defaultdict(list)

    def runs_done() -> bool:
        for dag_id, task_id, state in airflow.query(
            "select dag_id, task_id, state from task_instance where dag_id like 'example_ice_%'"
        ):
            states = seen[(dag_id, task_id)]
            if state and (not states or states[-1] != state):
                states.append(state)
        runs = airflow.query("select dag_id, state from dag_run where dag_id like 'example_ice_%'")
        return len(runs) == len(dags) and all(state in ("success", "failed") for _, state in runs)

    airflow.wait_for("the DAG runs to finish", runs_done, DEADLINE)
    print("task states seen:", dict(seen))
    runs = dict(airflow.query("select dag_id, state from dag_run where dag_id like 'example_ice_%'"))
    assert runs == {dag_id: "success" for dag_id in dags}, (
        runs,
        airflow.log_tail("scheduler"),
        airflow.log_tail("triggerer"),
    )

    # The deferrable sensor released its worker and waited in the triggerer.
    assert "deferred" in seen[("example_ice_workflow", "wait_for_workflow")]
    summary = xcom(airflow, "example_ice_workflow", "summarize", "return_value")
    assert summary["outputs"] == OUTPUTS
    assert summary["status"] == "succeeded"
    assert summary["nodes"] == sorted(NODES)
    assert emulator.backend.calls("StartAIWorkflow") == 2  # once for each DAG that starts one (the pipeline too)

    # start_from_trigger: straight to the triggerer, ended there; no worker ever ran it.
    sensor_states = seen[("example_ice_sensor", "wait_for_task")]
    assert "deferred" in sensor_states
    assert not {"queued", "running"} & set(sensor_states), sensor_states
    ((hostname, pid, state),) = airflow.query(
        "select hostname, pid, state from task_instance where dag_id = 'example_ice_sensor'"
    )
    assert (hostname or "", pid, state) == ("", None, "success")
    assert xcom(airflow, "example_ice_sensor", "wait_for_task", "return_value") == SENSOR_OUTPUTS
    assert xcom(airflow, "example_ice_sensor", "wait_for_task", "status") == "succeeded"
    # The connection is stored in the metastore, and a real triggerer finds it with the async lookup:
    # never through the dag.test() workaround (IceHook._sync_lookup_or_raise).
    assert "AIRFLOW_CONN_ICE_DEFAULT" not in airflow.env
    assert airflow.logs_containing("found by the sync lookup") == []

    # The pipeline: each ICE job waited in the triggerer and read the previous step's XCom.
    for task_id in ("subtitles", "burn_in", "renditions", "cover"):
        assert "deferred" in seen[("example_ice_pipeline", task_id)], (task_id, dict(seen))
    report = xcom(airflow, "example_ice_pipeline", "report", "return_value")
    assert report["subtitles"] == SUBTITLES
    assert report["burned_in"].startswith("oss://media-out/burned/")
    assert [url.split("/")[3] for url in report["renditions"]] == ["720p", "480p"]
    assert report["cover"].startswith("oss://media-out/covers/")
    assert report["statuses"] == {
        "subtitles": "succeeded",
        "burn_in": "Success",
        "renditions": "Complete",
        "cover": "Success",
    }
    timeline = next(
        job["params"]["Timeline"] for job in emulator.backend.jobs.snapshot() if job["family"] == "media_producing"
    )
    assert SUBTITLES in timeline


@pytest.mark.browser
def test_the_task_instance_page_shows_the_ice_console_link(stack):
    """Airflow 3.3's UI, in Debian's Chromium: the start operator's and the deferrable sensor's task
    instance pages show "ICE console" (Airflow 3 records a link when the task ends on its worker: a
    start_from_trigger sensor, which never reaches one, shows none)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    airflow, _ = stack

    def finished_run() -> str | None:
        rows = airflow.query("select run_id, state from dag_run where dag_id = 'example_ice_workflow'")
        return next((run_id for run_id, state in rows if state in ("success", "failed")), None)

    if not airflow.query("select 1 from dag_run where dag_id = 'example_ice_workflow'"):  # run alone
        airflow.wait_for(
            "the examples parsed",
            lambda: airflow.query("select 1 from dag where dag_id = 'example_ice_workflow'"),
            DEADLINE,
        )
        airflow.airflow("dags", "unpause", "example_ice_workflow")
        airflow.airflow("dags", "trigger", "example_ice_workflow")
    run_id = airflow.wait_for("a finished run of example_ice_workflow", finished_run, DEADLINE)
    shots = os.path.join(ROOT, "build", "browser")
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for task_id in ("start_workflow", "wait_for_workflow"):
                run = urllib.parse.quote(run_id, safe="")
                # the task instance's Details tab, whose "Extra Links" section holds them
                url = f"http://127.0.0.1:{airflow.port}/dags/example_ice_workflow/runs/{run}/tasks/{task_id}/details"
                page.goto(url, wait_until="networkidle")
                link = page.get_by_role("link", name="ICE console")
                link.wait_for(timeout=30_000)
                assert link.get_attribute("href") == "https://ims.console.aliyun.com/summary"
                page.screenshot(path=os.path.join(shots, f"ice-console-link-{task_id}.png"), full_page=True)
        finally:
            browser.close()
