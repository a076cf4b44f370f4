"""A distributed Airflow against the emulator: CeleryExecutor (Redis broker, PostgreSQL result
backend and metadata DB), api-server, scheduler, dag-processor, two Celery workers and two
triggerers, each its own process; the emulator in a process of its own. Run with
``make e2e-distributed``.

1. ``ice_at_scale``: 100 waiting tasks (60 mapped deferrable sensors, 20 ``start_from_trigger``
   sensors, 20 deferrable operators) and a reader of every XCom. Once all wait in the triggerers and
   both triggerers hold some, one triggerer is SIGKILLed; the other takes its triggers over.
2. ``ice_worker_loss``: a Celery worker is SIGKILLed (with its task processes) while operators run
   on it, after StartAIWorkflow and before they defer; their retries reattach to the same ICE task.

``example_ice_pipeline`` (AI workflow -> media producing -> MediaConvert and snapshot) runs beside
step 1, its jobs waiting in the triggerers and on the Celery workers like the rest.

The report (shown on the docs' "Running at scale" page) is printed and written to build/e2e-distributed.md.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from typing import Any

import pytest

from airflow_provider_ice.testing.emulator import IceEmulatorProcess
from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS
from benchmarks.common import report_header
from tests.e2e.services import AirflowStack, Redis, load_dag_file

pytestmark = [pytest.mark.e2e, pytest.mark.distributed, pytest.mark.timeout(1400)]
if not AIRFLOW_V_3_3_PLUS:
    # before loading the DAG file, whose start_from_trigger sensors need 3.3 too
    pytest.skip(
        "the worker-loss step needs Airflow >= 3.3 (an operator's retry reattaches to its ICE task)",
        allow_module_level=True,
    )

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAGS = os.path.join(ROOT, "tests", "dags_distributed")
scale = load_dag_file(os.path.join(DAGS, "ice_at_scale.py"))

#: The ICE tasks of ice_at_scale run until the failover is over, then this much longer. (Held with
#: the emulator's finish_at: on 2 cores, getting 80 tasks through the workers to defer takes minutes.)
RUN_ON_AFTER_FAILOVER = 15
WORKER_LOSS_DELAY = 60  # the operators' first check hangs this long: the window to kill their worker
WORKERS = ("worker-1", "worker-2")
TRIGGERERS = ("triggerer-1", "triggerer-2")
REPORT = os.path.join(ROOT, "build", "e2e-distributed.md")
DAG_IDS = ("ice_at_scale", "ice_worker_loss", "example_ice_pipeline")
PIPELINE_SUBTITLES = "oss://media-out/keynote.en.srt"
PIPELINE_STARTS = 1  # StartAIWorkflow calls of example_ice_pipeline (its subtitles step)


def _nodes(final: str) -> dict[str, Any]:
    return {"asr": {"Status": "Success" if final == "succeeded" else "Failed"}}


def _outcome(ice_id: str) -> tuple[str, str]:
    """(ICE final status, Airflow state) the test expects for a sensor's ICE task."""
    if "-fail-" in ice_id:
        return "failed", "failed"
    if "-partial-" in ice_id:
        return "partial-succeeded", "success"  # accept_partial_success=True
    return "succeeded", "success"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    emulator = IceEmulatorProcess()
    redis: Redis | None = None
    stack: AirflowStack | None = None
    try:
        emulator.start()
        redis = Redis()
        broker = redis.start()
        home = str(tmp_path_factory.mktemp("airflow-distributed"))
        celery = ["celery", "worker", "--concurrency", "16", "--skip-serve-logs", "--celery-hostname"]
        components = {
            "api-server": ["api-server"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            **{name: [*celery, f"{name}@%h"] for name in WORKERS},
            **{name: ["triggerer", "--skip-serve-logs"] for name in TRIGGERERS},
        }
        stack = AirflowStack(home, DAGS, {}, components)
        stack.env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": broker,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + stack.db_url,
                "AIRFLOW__CORE__PARALLELISM": "128",
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "200",
                # A dead worker's tasks are found within ~25 s (defaults: 300 s).
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                # Each component names its own host (task_instance.hostname, job.hostname), as if it
                # ran on a machine of its own.
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.e2e.hostname.from_env",
                "PYTHONPATH": ROOT,
            }
        )
        stack.component_env = {name: {"ICE_E2E_HOSTNAME": name} for name in components}
        # Stored in the metastore, as users store it (not an AIRFLOW_CONN_* variable).
        stack.start(connections=(emulator.connections_add_args(read_timeout=WORKER_LOSS_DELAY + 20),))
        yield stack, emulator
    finally:  # each resource stopped whatever the others do
        try:
            if stack is not None:
                stack.stop_showing_logs()
        finally:
            try:
                if redis is not None:
                    redis.stop()
            finally:
                emulator.stop()


def wait_for(stack: AirflowStack, what: str, check: Any, timeout: float) -> Any:
    """``stack.wait_for``, reporting the task states and triggers of both DAGs on a timeout."""

    def found() -> dict[str, Any]:
        return {dag_id: dict(states(stack, dag_id)) for dag_id in ("ice_at_scale", "ice_worker_loss")} | {
            "triggers per triggerer": stack.query("select triggerer_id, count(*) from trigger group by triggerer_id")
        }

    return stack.wait_for(what, check, timeout, found)


def states(stack: AirflowStack, dag_id: str) -> Counter[str]:
    rows = stack.query("select state from task_instance where dag_id = :d", d=dag_id)
    return Counter(str(state) for (state,) in rows)


def run_done(stack: AirflowStack, dag_id: str) -> str | None:
    rows = stack.query("select state from dag_run where dag_id = :d", d=dag_id)
    return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None


def xcom(stack: AirflowStack, dag_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    rows = stack.query(
        "select value from xcom where dag_id = :d and task_id = :t and key = :k and map_index = :m",
        d=dag_id,
        t=task_id,
        k=key,
        m=map_index,
    )
    assert rows, (dag_id, task_id, key, map_index)
    return rows[0][0]  # as stored: a value JSON-encoded twice reads as a string, as downstream


HELD_WORKFLOWS = [f"wf-{ice_id}" for ice_id in [*scale.MAPPED, *scale.FROM_TRIGGER]] + ["wf-operator"]


def setup_emulator(emulator: IceEmulatorProcess) -> None:
    hold = time.time() + 3600
    for ice_id in [*scale.MAPPED, *scale.FROM_TRIGGER]:
        final, _ = _outcome(ice_id)
        emulator.add_workflow(
            f"wf-{ice_id}",
            finish_at=hold,
            final_status=final,
            outputs={"video": f"oss://media-out/{ice_id}.mp4"},
            node_results=_nodes(final),
        )
        emulator.add_task(f"wf-{ice_id}", task_id=ice_id)
    emulator.add_workflow("wf-operator", finish_at=hold, outputs={"video": "oss://media-out/wf-operator.mp4"})
    emulator.add_workflow("wf-worker-loss", running_seconds=20, outputs={"video": "oss://media-out/wf-worker-loss.mp4"})
    # example_ice_pipeline's steps: each waits in a triggerer a few polls.
    emulator.add_workflow("demo-subtitles", running_polls=2, outputs={"subtitles": {"en": PIPELINE_SUBTITLES}})
    for family in ("media_producing", "media_convert", "snapshot"):
        emulator.plan_jobs(family, running_polls=2)


def test_failover_of_a_triggerer_and_of_a_celery_worker(deployment):
    stack, emulator = deployment
    report: dict[str, Any] = {}
    setup_emulator(emulator)
    wait_for(
        stack,
        "the dag-processor to parse the DAGs",
        lambda: len(stack.query("select dag_id from dag where dag_id in :ids", ids=DAG_IDS)) == len(DAG_IDS),
        240,
    )
    for dag_id in DAG_IDS:
        stack.airflow("dags", "unpause", dag_id)

    # ---- 1. every waiting task deferred, spread over both triggerers; kill one ------------------
    started = time.monotonic()
    stack.airflow("dags", "trigger", "ice_at_scale")
    stack.airflow("dags", "trigger", "example_ice_pipeline")
    waiting = len(scale.MAPPED) + len(scale.FROM_TRIGGER) + scale.OPERATORS

    def holders() -> dict[int, list[int]] | None:
        if states(stack, "ice_at_scale")["deferred"] < waiting:
            return None
        held: dict[int, list[int]] = {}
        rows = stack.query(  # ice_at_scale's triggers (not the pipeline's, which may wait beside them)
            "select t.id, t.triggerer_id from trigger t join task_instance ti on ti.trigger_id = t.id"
            " where ti.dag_id = 'ice_at_scale'"
        )
        for trigger_id, triggerer_id in rows:
            held.setdefault(triggerer_id, []).append(trigger_id)
        return held if len(held) == 2 and None not in held else None

    held = wait_for(stack, f"{waiting} deferred tasks held by both triggerers", holders, 480)
    report["all deferred after (s)"] = round(time.monotonic() - started, 1)
    by_job = dict(stack.query("select id, hostname from job where job_type = 'TriggererJob' and state = 'running'"))
    victim_job = max(held, key=lambda job: len(held[job]))
    survivor_job = next(job for job in held if job != victim_job)
    orphans = held[victim_job]
    orphaned_ice = orphaned_ice_tasks(stack, orphans)
    polls_at_kill = polls_by_task(emulator)
    stack.kill(by_job[victim_job])
    killed_at = time.monotonic()

    def taken_over() -> bool:
        rows = stack.query("select id, triggerer_id from trigger where id in :ids", ids=tuple(orphans))
        return all(triggerer_id == survivor_job for _, triggerer_id in rows)

    def resumed() -> bool:  # the dead triggerer polls no more: a new poll is the survivor's
        polls = polls_by_task(emulator)
        return all(polls.get(ice_id, 0) > polls_at_kill.get(ice_id, 0) for ice_id in orphaned_ice)

    wait_for(stack, "the surviving triggerer to take the orphaned triggers over", taken_over, 120)
    report["triggers held by each triggerer at the kill"] = sorted(len(v) for v in held.values())
    report["orphaned triggers by kind"] = dict(Counter(orphaned_ice.values()))
    report["kill -> last orphaned trigger assigned to the survivor (s)"] = round(time.monotonic() - killed_at, 1)
    wait_for(stack, "the survivor to poll every orphaned ICE task", resumed, 60)
    report["kill -> last orphaned ICE task polled by the survivor (s)"] = round(time.monotonic() - killed_at, 1)
    for workflow_id in HELD_WORKFLOWS:
        emulator.update_workflow(workflow_id, finish_at=time.time() + RUN_ON_AFTER_FAILOVER)
    report["ICE tasks ran for about (s)"] = round(time.monotonic() - started + RUN_ON_AFTER_FAILOVER)

    assert wait_for(stack, "ice_at_scale to finish", lambda: run_done(stack, "ice_at_scale"), 600)
    report["ice_at_scale run (s)"] = round(time.monotonic() - started, 1)
    check_scale_outcomes(stack, emulator, report)
    check_pipeline(stack, emulator, report)

    # ---- 2. kill a Celery worker while operators run on it, before they defer --------------------
    starts_before = emulator.calls("StartAIWorkflow")
    emulator.inject("delay", scale.WORKER_LOSS_OPERATORS, action="GetAIWorkflowTask", delay=WORKER_LOSS_DELAY)
    stack.airflow("dags", "trigger", "ice_worker_loss")

    def started_ids() -> dict[int, str]:
        rows = stack.query(
            "select map_index, value from xcom where dag_id = 'ice_worker_loss' and key = 'workflow_task_id'"
        )
        return {m: value for m, value in rows}

    def started_and_running() -> dict[str, list[int]] | None:
        """Once every operator has started its ICE task (its first check now hangs): which of them
        run on which worker."""
        if emulator.calls("StartAIWorkflow") - starts_before < scale.WORKER_LOSS_OPERATORS:
            return None
        if len(started_ids()) < scale.WORKER_LOSS_OPERATORS:
            return None
        rows = stack.query(
            "select map_index, hostname from task_instance where dag_id = 'ice_worker_loss' and state = 'running'"
        )
        return {name: [m for m, hostname in rows if hostname == name] for name in WORKERS} if rows else None

    on_worker = wait_for(stack, "the operators to start their ICE tasks", started_and_running, 240)
    first_try_ids = started_ids()
    victim = max(WORKERS, key=lambda name: len(on_worker[name]))
    stack.kill(victim)
    assert wait_for(stack, "ice_worker_loss to finish", lambda: run_done(stack, "ice_worker_loss"), 400) == "success"
    tries = dict(stack.query("select map_index, try_number from task_instance where dag_id = 'ice_worker_loss'"))
    assert on_worker[victim] and all(tries[m] >= 2 for m in on_worker[victim]), (on_worker, tries)
    # The retries reattached: each operator ends on the very ICE task its first try started.
    assert started_ids() == first_try_ids
    assert len(set(first_try_ids.values())) == scale.WORKER_LOSS_OPERATORS
    duplicates = emulator.calls("StartAIWorkflow") - starts_before - scale.WORKER_LOSS_OPERATORS
    report["operators on the killed worker: retried, ended on the ICE task their first try started"] = (
        f"{len(on_worker[victim])} of {scale.WORKER_LOSS_OPERATORS}"
    )
    report["duplicate StartAIWorkflow after the worker kill"] = duplicates
    write_report(report)
    assert duplicates == 0


def check_pipeline(stack: AirflowStack, emulator: IceEmulatorProcess, report: dict[str, Any]) -> None:
    """example_ice_pipeline ended well, each step reading the previous one's XCom."""
    state = wait_for(stack, "example_ice_pipeline to finish", lambda: run_done(stack, "example_ice_pipeline"), 240)
    assert state == "success", (state, states(stack, "example_ice_pipeline"))
    summary = xcom(stack, "example_ice_pipeline", "report")
    assert summary["subtitles"] == PIPELINE_SUBTITLES
    burned = summary["burned_in"]
    jobs = {job["family"]: job for job in emulator.jobs()}
    assert PIPELINE_SUBTITLES in jobs["media_producing"]["params"]["Timeline"]
    assert burned in jobs["media_convert"]["params"]["Config"] and burned in jobs["snapshot"]["params"]["Input"]
    assert len(summary["renditions"]) == 2 and summary["cover"]
    hosts = stack.query("select distinct hostname from task_instance where dag_id = 'example_ice_pipeline'")
    report["example_ice_pipeline (AI workflow -> media producing -> MediaConvert + snapshot)"] = (
        f"{state}; tasks ran on {', '.join(sorted(h for (h,) in hosts if h))}"
    )


def polls_by_task(emulator: IceEmulatorProcess) -> dict[str, int]:
    rows = emulator.call_counts()
    return {r["task_id"]: r["count"] for r in rows if r["action"] == "GetAIWorkflowTask" and r["task_id"]}


def orphaned_ice_tasks(stack: AirflowStack, triggers: list[int]) -> dict[str, str]:
    """ICE TaskId -> kind of waiting task, for the given triggers."""
    found: dict[str, str] = {}
    rows = stack.query(
        "select task_id, map_index from task_instance where dag_id = 'ice_at_scale' and trigger_id in :ids",
        ids=tuple(triggers),
    )
    for task_id, map_index in rows:
        if task_id == "wait":
            found[scale.MAPPED[map_index]] = "mapped sensor"
        elif task_id.startswith("from_trigger_"):
            found[scale.FROM_TRIGGER[int(task_id.rsplit("_", 1)[1])]] = "start_from_trigger sensor"
        else:
            found[xcom(stack, "ice_at_scale", "start", "workflow_task_id", map_index)] = "operator"
    return found


def check_scale_outcomes(stack: AirflowStack, emulator: IceEmulatorProcess, report: dict[str, Any]) -> None:
    ti = {
        (task_id, map_index): (state, hostname, pid, queued)
        for task_id, map_index, state, hostname, pid, queued in stack.query(
            "select task_id, map_index, state, hostname, pid, queued_dttm from task_instance"
            " where dag_id = 'ice_at_scale'"
        )
    }
    seen = xcom(stack, "ice_at_scale", "read_all")
    per_outcome: Counter[str] = Counter()
    for i, ice_id in enumerate(scale.MAPPED):
        final, state = _outcome(ice_id)
        assert ti[("wait", i)][0] == state, (ice_id, ti[("wait", i)])
        assert seen["mapped"][ice_id]["status"] == final
        assert seen["mapped"][ice_id]["outputs"] == {"video": f"oss://media-out/{ice_id}.mp4"}
        assert seen["mapped"][ice_id]["node_results"] == _nodes(final)
        per_outcome[f"mapped sensor: {final} -> {state}"] += 1
    for i, ice_id in enumerate(scale.FROM_TRIGGER):
        state, hostname, pid, queued = ti[(f"from_trigger_{i:02d}", -1)]
        # Never queued for, nor run on, a worker.
        assert (state, hostname or "", pid, queued) == ("success", "", None, None), (
            ice_id,
            ti[(f"from_trigger_{i:02d}", -1)],
        )
        assert seen["from_trigger"][ice_id] == {
            "status": "succeeded",
            "outputs": {"video": f"oss://media-out/{ice_id}.mp4"},
            "node_results": _nodes("succeeded"),
        }
        per_outcome["start_from_trigger sensor: succeeded -> success (no worker)"] += 1
    operator_ids = [xcom(stack, "ice_at_scale", "start", "workflow_task_id", m) for m in range(scale.OPERATORS)]
    assert len(set(operator_ids)) == scale.OPERATORS
    for m, ice_id in enumerate(operator_ids):
        assert ti[("start", m)][0] == "success"
        assert seen["operators"][ice_id] == {
            "status": "succeeded",
            "outputs": {"video": "oss://media-out/wf-operator.mp4"},
            "node_results": None,
            "map_index": m,
        }
        per_outcome["deferrable operator: succeeded -> success"] += 1
    # example_ice_pipeline, triggered beside ice_at_scale, starts one AI workflow task of its own.
    starts = emulator.calls("StartAIWorkflow") - PIPELINE_STARTS
    assert starts == scale.OPERATORS, f"{starts} StartAIWorkflow calls for {scale.OPERATORS} operators"
    polls = [
        emulator.calls("GetAIWorkflowTask", ice_id) for ice_id in [*scale.MAPPED, *scale.FROM_TRIGGER, *operator_ids]
    ]
    report["tasks per outcome"] = dict(per_outcome)
    report["GetAIWorkflowTask calls per ICE task (mean / max)"] = f"{statistics.mean(polls):.1f} / {max(polls)}"
    report["StartAIWorkflow per operator task"] = starts / scale.OPERATORS
    report["duplicate StartAIWorkflow after the triggerer kill"] = starts - scale.OPERATORS
    # The connection is stored in the metastore; real triggerers find it with the async lookup.
    assert stack.logs_containing("found by the sync lookup") == []
    report["connection"] = "stored in the metastore (airflow connections add)"


def write_report(report: dict[str, Any]) -> None:
    lines = [*report_header("A distributed Airflow, a triggerer and a worker killed", "make e2e-distributed")]
    lines += ["| measure | value |", "|---|---|"]
    for key, value in report.items():
        if isinstance(value, dict):
            lines += [f"| {key}: {k} | {v} |" for k, v in value.items()]
        else:
            lines.append(f"| {key} | {value} |")
    text = "\n".join(lines)
    print("\n" + text)
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        f.write(text + "\n")
