"""What part of the job family does beyond one status per job: a batch's outcome from its sub-jobs
(``accept_partial_success``), the submits ICE takes no ClientToken for (never resent once they may
have run), a media producing job given as a Timeline (sent in the request body). Real DAG runs and
hook calls against the emulator."""

from __future__ import annotations

import logging

import pytest

from tests.dagrun import run_dag
from tests.helpers import use_connection, wait_until
from tests.job_tables import PARAMS, SUBMIT

SENSOR_DAGS = "ice_job_dags.py"
BATCH = "batch_media_producing"


@pytest.fixture
def emulator(ice_emulator, ice_connection, ice_airflow_db):
    return ice_emulator


def modes() -> list[str]:
    from airflow_provider_ice.version_compat import AIRFLOW_V_3_0

    return ["poke", "deferrable"] if AIRFLOW_V_3_0 else ["poke", "reschedule", "deferrable"]


def batch(emulator, sub_jobs):
    plan = {"error_code": "MaterialNotFound", "error_message": "no such material"}
    return emulator.backend.jobs.add(BATCH, params=PARAMS[BATCH], running_polls=2, sub_jobs=sub_jobs, **plan)


def logs_of(caplog, capfd) -> str:
    out, err = capfd.readouterr()
    return out + err + caplog.text


@pytest.mark.parametrize("mode", modes())
def test_a_batch_whose_sub_jobs_all_failed_fails_naming_each(emulator, mode, caplog, capfd):
    caplog.set_level(logging.INFO)
    job_id = batch(emulator, ["Failed", "Failed"])
    result = run_dag(SENSOR_DAGS, f"ice_job_{BATCH}_{mode}", job_id=job_id)
    assert result.task_states["wait"] == "failed"
    assert result.try_numbers["wait"] == 1
    xcom = result.xcoms_of("wait")
    assert xcom["status"] == "Finished"
    subs = xcom["return_value"]["SubJobList"]  # every sub-job's error is in XCom too
    assert [(s["Status"], s["ErrorCode"], s["ErrorMessage"]) for s in subs] == [
        ("Failed", "MaterialNotFound", "no such material")
    ] * 2
    logs = logs_of(caplog, capfd)
    failed = "; ".join(f"{job_id}-{i} (Failed, error MaterialNotFound: no such material)" for i in (1, 2))
    assert f"ended with status 'Finished': 0 of 2 sub-jobs succeeded; failed sub-jobs: {failed}." in logs, logs[-3000:]


@pytest.mark.parametrize("mode", modes())
def test_a_partial_batch_fails_unless_accepted(emulator, mode, caplog, capfd):
    caplog.set_level(logging.INFO)
    job_id = batch(emulator, ["Success", "Failed", "Success"])
    result = run_dag(SENSOR_DAGS, f"ice_job_{BATCH}_{mode}", job_id=job_id)
    assert result.task_states["wait"] == "failed"
    logs = logs_of(caplog, capfd)
    assert "2 of 3 sub-jobs succeeded (set accept_partial_success=True to accept it); failed sub-jobs: " in logs
    assert f"{job_id}-2 (Failed, error MaterialNotFound: no such material)" in logs


def test_a_partial_batch_succeeds_when_accepted_and_says_what_failed(emulator, caplog, capfd):
    caplog.set_level(logging.INFO)
    job_id = batch(emulator, ["Success", "Failed"])
    result = run_dag(SENSOR_DAGS, f"ice_job_{BATCH}_poke_partial", job_id=job_id)
    assert result.state == "success"
    subs = result.xcoms_of("wait")["return_value"]["SubJobList"]
    assert [s["Status"] for s in subs] == ["Success", "Failed"]
    assert subs[0]["MediaURL"] == "oss://media-out/v1.mp4"
    logs = logs_of(caplog, capfd)
    assert f"1 of 2 sub-jobs succeeded (accept_partial_success=True); failed sub-jobs: {job_id}-2 (Failed" in logs


def test_a_batch_that_lists_no_sub_job_fails(emulator, caplog, capfd):
    result = run_dag(SENSOR_DAGS, f"ice_job_{BATCH}_poke_partial", job_id=batch(emulator, []))
    assert result.task_states["wait"] == "failed"
    assert "0 of 0 sub-jobs succeeded; ICE lists no failed sub-job." in logs_of(caplog, capfd)


@pytest.mark.parametrize(("accept", "succeeded"), [(False, False), (True, True)])
def test_a_retry_judges_a_finished_batch_by_its_sub_jobs(emulator, accept, succeeded):
    """Airflow's ResumableJobMixin asks is_job_succeeded(status) of the job an earlier try left: for
    a batch's Finished the sub-jobs of the record just read decide."""
    from airflow_provider_ice.operators.batch import IceSubmitBatchMediaProducingJobOperator

    job_id = batch(emulator, ["Success", "Failed"])
    operator = IceSubmitBatchMediaProducingJobOperator(
        task_id="b", input_config={}, output_config={}, accept_partial_success=accept
    )
    emulator.backend.jobs.answer("GetBatchMediaProducingJob", {"JobId": job_id})  # past its running polls
    emulator.backend.jobs.answer("GetBatchMediaProducingJob", {"JobId": job_id})
    status = operator.get_job_status(job_id, {})
    assert (status, operator.is_job_active(status)) == ("Finished", False)
    assert operator.is_job_succeeded(status) is succeeded


@pytest.mark.parametrize("kind", ["snapshot", "media_workflow"])
def test_a_submit_without_a_client_token_is_not_resent_once_it_may_have_run(emulator, monkeypatch, kind, caplog, capfd):
    """ICE documents no idempotency key for SubmitSnapshotJob and StartWorkflow: a submit whose answer
    is lost may have made a job, so it is not sent again, and the task fails without an Airflow retry."""
    use_connection(monkeypatch, emulator, read_timeout=1.0)
    emulator.backend.inject("delay", 1, action=SUBMIT[kind], delay=2.0)
    result = run_dag(SENSOR_DAGS, f"ice_submit_{kind}_sync")
    assert result.task_states["submit"] == "failed"
    assert result.try_numbers["submit"] == 1  # retries=1 in the DAG: not used
    assert emulator.backend.calls(SUBMIT[kind]) == 1
    wait_until(lambda: emulator.backend.jobs.submits_handled >= 1, "the delayed submit to be handled")
    assert len(emulator.backend.jobs.snapshot()) == 1
    assert "it was not sent again, to avoid a second billed" in logs_of(caplog, capfd)


def test_a_media_producing_job_from_a_timeline(emulator):
    """A Timeline goes in the request body (as the SDK sends it) and reaches ICE whole."""
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.kinds import MEDIA_PRODUCING
    from airflow_provider_ice.operators.media import IceSubmitMediaProducingJobOperator

    timeline = {"VideoTracks": [{"VideoTrackClips": [{"MediaURL": "oss://media-in/a b.mp4", "Out": 3}]}]}
    operator = IceSubmitMediaProducingJobOperator(
        task_id="t", timeline=timeline, output_media_config={"MediaURL": "oss://media-out/t.mp4"}, client_token="tok-t"
    )
    job_id = IceHook().submit_job(MEDIA_PRODUCING, operator.submit_query({}))
    [job] = emulator.backend.jobs.snapshot()
    assert job["job_id"] == job_id
    assert (
        job["params"]["Timeline"]
        == '{"VideoTracks":[{"VideoTrackClips":[{"MediaURL":"oss://media-in/a b.mp4","Out":3}]}]}'
    )


def test_a_media_producing_operator_takes_exactly_one_source():
    from airflow_provider_ice.exceptions import IceArgumentError
    from airflow_provider_ice.operators.media import IceSubmitMediaProducingJobOperator

    with pytest.raises(IceArgumentError, match="exactly one of project_id, template_id and timeline"):
        IceSubmitMediaProducingJobOperator(task_id="t", project_id="p", timeline={}, output_media_config={})


def test_the_pipeline_example_passes_each_steps_xcom_to_the_next(emulator):
    """example_ice_pipeline: subtitles (AI workflow) -> burn-in (media producing, a Timeline) ->
    renditions (MediaConvert) and cover (snapshot), each step reading the previous one's XCom."""
    subtitles = "oss://media-out/talk.en.srt"
    # Every job ends at its first read (the example polls every 5 s; waiting is tested elsewhere).
    emulator.backend.add_workflow("demo-subtitles", running_polls=0, outputs={"subtitles": {"en": subtitles}})
    for family in ("media_producing", "media_convert", "snapshot"):
        emulator.backend.jobs.plan(family, running_polls=0)
    result = run_dag(
        "ice_pipeline_example.py", "example_ice_pipeline", video="oss://media-in/talk.mp4", bucket="media-out"
    )
    assert result.state == "success", result
    jobs = {job["family"]: job for job in emulator.backend.jobs.snapshot()}
    assert sorted(jobs) == ["media_convert", "media_producing", "snapshot"]
    assert subtitles in jobs["media_producing"]["params"]["Timeline"]  # read the workflow's Outputs
    burned = result.xcoms_of("burn_in")["return_value"]["MediaURL"]
    assert burned.startswith("oss://media-out/burned/manual__")
    assert f'"Media":"{burned}"' in jobs["media_convert"]["params"]["Config"]  # read the burn-in's result
    assert f'"Media":"{burned}"' in jobs["snapshot"]["params"]["Input"]
    summary = result.xcoms_of("report")["return_value"]
    assert summary["subtitles"] == subtitles
    assert summary["burned_in"] == burned
    assert [url.split("/")[3] for url in summary["renditions"]] == ["720p", "480p"]
    assert summary["cover"].startswith("oss://media-out/covers/manual__")
    assert summary["statuses"] == {
        "subtitles": "succeeded",
        "burn_in": "Success",
        "renditions": "Complete",
        "cover": "Success",
    }


def test_the_batch_example_keeps_the_videos_made_and_processes_the_first(emulator):
    """example_ice_batch: a batch with a failed variant succeeds (accept_partial_success), the reader
    keeps the videos made, and the media workflow task runs on the first of them."""
    emulator.backend.jobs.plan(BATCH, running_polls=0, sub_jobs=["Success", "Failed", "Success"])
    emulator.backend.jobs.plan("media_workflow", running_polls=0)
    result = run_dag("ice_batch_example.py", "example_ice_batch", bucket="media-out", media_workflow_id="mwf-1")
    assert result.state == "success", result
    videos = result.xcoms_of("made")["return_value"]
    assert [url.rsplit("-", 1)[1] for url in videos] == ["1.mp4", "3.mp4"]
    [workflow_task] = [job for job in emulator.backend.jobs.snapshot() if job["family"] == "media_workflow"]
    assert workflow_task["params"]["WorkflowId"] == "mwf-1"
    assert f'"Media":"{videos[0]}"' in workflow_task["params"]["TaskInput"]
    assert result.xcoms_of("process_first")["status"] == "Succeed"


def test_a_retry_that_reattaches_while_waiting_here_keeps_the_jobs_result(emulator, monkeypatch):
    """Not deferrable: the first try dies on its first status check; on Airflow >= 3.3 the retry
    reattaches (Airflow's ResumableJobMixin returns what poll_until_complete returns, None) and the
    job's result must still be the task's return_value. Below 3.3 the retry submits anew."""
    from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS

    use_connection(monkeypatch, emulator, max_attempts=1)
    emulator.backend.jobs.plan("media_convert", running_polls=1)
    emulator.backend.inject("non_json", 1, action="GetMediaConvertJob", status=403)
    result = run_dag(SENSOR_DAGS, "ice_submit_media_convert_sync")
    assert result.state == "success"
    assert result.try_numbers["submit"] == 2
    assert emulator.backend.calls("SubmitMediaConvertJob") == (1 if AIRFLOW_V_3_3_PLUS else 2)
    xcom = result.xcoms_of("submit")
    assert xcom["return_value"]["JobId"] == xcom["job_id"]
    assert xcom["status"] == "Complete"


def test_bad_input_names_the_operators_own_parameter():
    from airflow_provider_ice.exceptions import IceArgumentError
    from airflow_provider_ice.operators.snapshot import IceSubmitSnapshotJobOperator
    from airflow_provider_ice.operators.workflow import IceStartMediaWorkflowOperator

    snapshot = IceSubmitSnapshotJobOperator(
        task_id="s", input_file="{{ not json }}", output_file={"Media": "oss://o/c.jpg"}, template_config={}
    )
    with pytest.raises(IceArgumentError, match=r"^input_file "):
        snapshot.submit_query({})
    with pytest.raises(IceArgumentError, match="skip_input_verification must be True, False or None"):
        IceStartMediaWorkflowOperator(task_id="w", workflow_id="wf", skip_input_verification="false")  # type: ignore[arg-type]
