"""The ICE job kinds besides AI workflows in real DAG runs (dag.test() on the installed Airflow)
against the emulator: every sensor mode, each documented final status and an undocumented one, the
operators' single submit. The statuses are spelled in tests/job_tables.py from ICE's pages, not read
from the provider's kinds table; a batch's sub-jobs and the submits without a ClientToken:
tests/test_more_jobs.py."""

from __future__ import annotations

import logging

import pytest

from tests.dagrun import run_dag
from tests.helpers import use_connection, wait_until
from tests.job_tables import GET, ID_FIELD, ID_XCOM, KEYED, PARAMS, STATUSES, SUBMIT, failure_text

SENSOR_DAGS = "ice_job_dags.py"
#: the kinds whose failures are final statuses (a batch's come from its sub-jobs)
FAILING = [(kind, final) for kind, (_, fails, _) in STATUSES.items() for final in fails]


@pytest.fixture
def emulator(ice_emulator, ice_connection, ice_airflow_db):
    return ice_emulator


def modes() -> list[str]:
    from airflow_provider_ice.version_compat import AIRFLOW_V_3_0

    return ["poke", "deferrable"] if AIRFLOW_V_3_0 else ["poke", "reschedule", "deferrable"]


def add_job(emulator, kind, **plan):
    return emulator.backend.jobs.add(kind, params=PARAMS[kind], **{"running_polls": 2, **plan})


def submit_through(emulator, monkeypatch, kind, wait, fault, **connection):
    """Run the kind's submitting DAG (``wait``: sync or deferrable) with one fault on one of its actions."""
    use_connection(monkeypatch, emulator, **connection)
    emulator.backend.jobs.plan(kind, running_polls=1)
    name, actions, options = fault
    emulator.backend.inject(name, 1, action=actions[kind], **options)
    return run_dag(SENSOR_DAGS, f"ice_submit_{kind}_{wait}")


def wait_dag(kind, mode, job_id):
    return run_dag(SENSOR_DAGS, f"ice_job_{kind}_{mode}", job_id=job_id)


@pytest.mark.parametrize("mode", modes())
@pytest.mark.parametrize("kind", list(STATUSES))
def test_a_successful_job_succeeds_in_every_mode(emulator, kind, mode):
    job_id = add_job(emulator, kind)
    result = wait_dag(kind, mode, job_id)
    assert result.state == "success"
    xcom = result.xcoms_of("wait")
    assert xcom["status"] == STATUSES[kind][0]
    assert xcom["return_value"][ID_FIELD[kind]] == job_id
    assert "Code" not in xcom["return_value"]  # an empty field is left out
    assert result.xcoms_of("read")["return_value"] == {"id": STATUSES[kind][0], "result": xcom["return_value"]}
    # 2 running answers then the final one; deferrable adds the fetch on resume.
    assert emulator.backend.calls(GET[kind], job_id) == (4 if mode == "deferrable" else 3)


@pytest.mark.parametrize("mode", modes())
@pytest.mark.parametrize(("kind", "final"), FAILING)
def test_a_failed_job_fails_once_with_ices_error_and_keeps_its_result(emulator, kind, final, mode, caplog, capfd):
    caplog.set_level(logging.INFO)
    job_id = add_job(emulator, kind, final_status=final, error_code="InputNotFound", error_message="no such object")
    result = wait_dag(kind, mode, job_id)
    assert result.task_states["wait"] == "failed"
    assert result.try_numbers["wait"] == 1  # no retry of a verdict that cannot change
    xcom = result.xcoms_of("wait")
    assert xcom["status"] == final
    result_value = xcom["return_value"]
    if kind == "media_workflow":  # no error fields: the failed activity is in ActivityResults
        assert result_value["ActivityResults"]["Transcode"]["Message"] == "no such object"
    else:
        assert (result_value["Code"], result_value["Message"]) == ("InputNotFound", "no such object")
    out, err = capfd.readouterr()
    logs = out + err + caplog.text
    assert failure_text(kind, final, "InputNotFound", "no such object") in logs, logs[-3000:]


@pytest.mark.parametrize("mode", modes())
@pytest.mark.parametrize("kind", list(STATUSES))
def test_an_undocumented_status_is_warned_about_once_and_polled_on(emulator, kind, mode, caplog, capfd):
    caplog.set_level(logging.INFO)
    job_id = add_job(emulator, kind, running_status="Transcoding", running_polls=3)
    result = wait_dag(kind, mode, job_id)
    assert result.state == "success"
    out, err = capfd.readouterr()
    warning = "reports status 'Transcoding', which is none of the statuses ICE documents"

    def warned(logs: str) -> list[str]:
        return [line for line in logs.splitlines() if warning in line]

    # Airflow 3 logs a task through structlog (captured output), Airflow 2 through logging (caplog)
    # and echoes it: count one source.
    lines = warned(caplog.text) or warned(out + err)
    assert lines, (out + err + caplog.text)[-3000:]
    if mode == "poke":  # one process, three polls; reschedule starts one per poke (a line each)
        assert len(lines) == 1


@pytest.mark.parametrize(("kind", "running"), [(k, r) for k, (_, _, running) in STATUSES.items() for r in running])
def test_every_documented_running_status_is_polled_on_without_a_warning(emulator, kind, running, caplog):
    caplog.set_level(logging.INFO)
    result = wait_dag(kind, "poke", add_job(emulator, kind, running_status=running))
    assert result.state == "success"
    assert "none of the statuses ICE documents" not in caplog.text


@pytest.mark.parametrize("kind", KEYED)
def test_a_lost_answer_then_refusals_fail_without_an_airflow_retry(emulator, monkeypatch, kind):
    """The first submit's answer is lost (it may have made a job), the resends are throttled: the
    last error alone says nothing ran, but a job may exist, so Airflow must not retry (a new try
    has a new ClientToken). Refusals use no attempt of a submit: the time limit ends it."""
    use_connection(monkeypatch, emulator, read_timeout=1.0, retry_max_elapsed=4)
    emulator.backend.inject("delay", 1, action=SUBMIT[kind], delay=2.0)
    emulator.backend.inject("throttling", None, action=SUBMIT[kind])
    result = run_dag(SENSOR_DAGS, f"ice_submit_{kind}_sync")
    assert result.task_states["submit"] == "failed"
    assert result.try_numbers["submit"] == 1  # retries=1 in the DAG: not used
    wait_until(lambda: emulator.backend.jobs.submits_handled >= 1, "the delayed submit to be handled")
    assert len(emulator.backend.jobs.snapshot()) == 1


@pytest.mark.parametrize("token", ["None", "", "two words", "x" * 65, "jeton-é"])
def test_a_client_token_ice_cannot_take_fails_before_the_submit(emulator, token):
    from airflow_provider_ice.exceptions import IceArgumentError
    from airflow_provider_ice.operators.media import IceSubmitMediaConvertJobOperator

    operator = IceSubmitMediaConvertJobOperator(task_id="c", config={"Inputs": []}, client_token="{{ x }}")
    operator.client_token = token  # as Airflow renders it
    with pytest.raises(IceArgumentError, match="client_token"):
        operator.submit_query({})
    assert emulator.backend.calls() == 0


def test_the_default_client_token_is_one_per_try():
    from types import SimpleNamespace

    from airflow_provider_ice.operators.job import default_client_token

    def token(try_number: int, run_id: str = "r1") -> str:
        ti = SimpleNamespace(dag_id="d", task_id="t", run_id=run_id, map_index=-1, try_number=try_number)
        return default_client_token({"ti": ti})

    assert token(1) == token(1)  # every resend of one try's submit
    assert len({token(1), token(2), token(1, "r2")}) == 3  # a new try, another run: a new job
    # the same run id in another deployment (or a run recreated for its date): the try's own id differs
    first = SimpleNamespace(dag_id="d", task_id="t", run_id="r1", map_index=-1, try_number=1, id="uuid-a")
    again = SimpleNamespace(dag_id="d", task_id="t", run_id="r1", map_index=-1, try_number=1, id="uuid-b")
    assert default_client_token({"ti": first}) != default_client_token({"ti": again})
    assert len(token(1)) <= 64 and token(1).isascii()


@pytest.mark.parametrize("kind", list(STATUSES))
@pytest.mark.parametrize("deferrable", [False, True])
def test_the_operator_submits_once_and_writes_the_documented_keys(emulator, kind, deferrable):
    emulator.backend.jobs.plan(kind, running_polls=1)
    result = run_dag(SENSOR_DAGS, f"ice_submit_{kind}_{'deferrable' if deferrable else 'sync'}")
    assert result.state == "success", result
    [job] = emulator.backend.jobs.snapshot()
    assert emulator.backend.calls(SUBMIT[kind]) == 1
    xcom = result.xcoms_of("submit")
    assert set(xcom) == {ID_XCOM[kind], "return_value", "status"}
    assert xcom[ID_XCOM[kind]] == job["job_id"] == xcom["return_value"][ID_FIELD[kind]]
    assert xcom["status"] == STATUSES[kind][0]
    assert result.xcoms_of("read")["return_value"]["id"] == job["job_id"]
    # ICE's idempotency key, on every submit that takes one
    assert bool(job["params"].get("ClientToken")) == (kind in KEYED)
    assert job["params"]["UserData"].startswith('{"run":"manual__')  # a dict, JSON-encoded after rendering


@pytest.mark.parametrize("kind", KEYED)
def test_a_submit_whose_answer_is_lost_is_resent_with_its_client_token_and_makes_one_job(emulator, monkeypatch, kind):
    """A read timeout on the submit: the request may have run, so the resend carries the same
    ClientToken, which ICE answers with the job the first one made (its documented idempotence)."""
    result = submit_through(emulator, monkeypatch, kind, "sync", ("delay", SUBMIT, {"delay": 2.0}), read_timeout=1.0)
    assert result.state == "success"
    assert result.try_numbers["submit"] == 1
    sent = emulator.backend.calls(SUBMIT[kind])
    assert sent >= 2  # resent (more than once if the machine is slow)
    # The first submit is answered late (after its delay): wait for it, then count the jobs.
    wait_until(lambda: emulator.backend.jobs.submits_handled >= sent, "the delayed submit to be handled")
    assert len(emulator.backend.jobs.snapshot()) == 1


def test_the_media_example_renders_then_transcodes_what_was_rendered(emulator):
    result = run_dag("ice_media_example.py", "example_ice_media", project_id="proj-7", bucket="media-out")
    assert result.state == "success", result
    render, transcode = sorted(emulator.backend.jobs.snapshot(), key=lambda job: job["family"], reverse=True)
    assert (render["family"], render["params"]["ProjectId"]) == ("media_producing", "proj-7")
    rendered = result.xcoms_of("render")["return_value"]["MediaURL"]
    assert rendered.startswith("oss://media-out/cuts/manual__")
    assert f'"Media":"{rendered}"' in transcode["params"]["Config"]  # the second job read the first's XCom
    assert result.xcoms_of("report")["return_value"] == {
        "rendered": rendered,
        "transcode_job": transcode["job_id"],
        "transcode_status": "Complete",
    }


@pytest.mark.parametrize(("configured", "paced_at"), [(None, 30.0), (10.0, 10.0), (100.0, 30.0)])
def test_submit_media_producing_job_is_paced_at_icess_published_quota(emulator, monkeypatch, configured, paced_at):
    """ICE publishes 30 SubmitMediaProducingJob calls a second per account: that caps the action's
    limiter, and a connection's lower max_calls_per_second caps it further. Other actions keep theirs."""
    from airflow_provider_ice.client.ratelimit import forget_limiters, limiter_for
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.kinds import MEDIA_PRODUCING

    forget_limiters()
    extras = {} if configured is None else {"max_calls_per_second": configured}
    use_connection(monkeypatch, emulator, **extras)
    hook = IceHook()
    hook.submit_job(MEDIA_PRODUCING, {"ProjectId": "p", "OutputMediaConfig": "{}"})
    config = hook.get_connection_config()
    assert limiter_for(config.account, config.endpoint, "SubmitMediaProducingJob").max_rate == paced_at
    hook.get_job(MEDIA_PRODUCING, emulator.backend.jobs.snapshot()[0]["job_id"])
    assert limiter_for(config.account, config.endpoint, "GetMediaProducingJob").max_rate == configured


def test_a_client_token_does_not_make_start_ai_workflow_resendable(emulator, monkeypatch):
    """ICE documents ClientToken for the Submit* actions only: StartAIWorkflow carrying one is still
    never resent when it may have run."""
    from airflow_provider_ice.exceptions import IceApiError
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.kinds import AI_WORKFLOW

    use_connection(monkeypatch, emulator, read_timeout=1.0)
    emulator.backend.add_workflow("wf")
    emulator.backend.inject("delay", 1, action="StartAIWorkflow", delay=2.0)
    with pytest.raises(IceApiError) as excinfo:
        IceHook().submit_job(AI_WORKFLOW, {"WorkflowId": "wf", "ClientToken": "tok-1"})
    assert excinfo.value.may_have_run
    assert emulator.backend.calls("StartAIWorkflow") == 1


def test_the_hook_checks_a_client_token_it_is_given(emulator):
    from airflow_provider_ice.exceptions import IceArgumentError
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.kinds import MEDIA_CONVERT

    with pytest.raises(IceArgumentError, match=r"client_token .* at most 64 ASCII"):
        IceHook().submit_job(MEDIA_CONVERT, {"Config": "{}", "ClientToken": "x" * 65})
    assert emulator.backend.calls() == 0


def test_an_unexpected_error_in_a_submit_fails_without_an_airflow_retry(emulator, monkeypatch):
    """Mocked (no emulator answer makes the client raise anything but its own errors): whether ICE got
    the submit cannot be told, so no retry may submit another job."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.operators.media import IceSubmitMediaConvertJobOperator

    def broken(self, kind, query):
        raise RuntimeError("a bug")

    monkeypatch.setattr(IceHook, "submit_job", broken)
    operator = IceSubmitMediaConvertJobOperator(task_id="c", config={"Inputs": []}, client_token="tok-9")
    with pytest.raises(AirflowFailException, match=r"may have created a job \(ClientToken tok-9\)"):
        operator.submit_job({"ti": None})


@pytest.mark.parametrize("kind", list(STATUSES))
def test_a_retry_reattaches_or_says_it_submits_anew(emulator, monkeypatch, kind):
    """The first try dies on its first status check, after the submit succeeded (a permanent error);
    Airflow retries the operator. On Airflow >= 3.3 the retry reattaches to the job (its JobId is in
    the task state store): one submit. Below, nothing carries the JobId: a second submit (with a new
    try's ClientToken), as the docs say."""
    from airflow_provider_ice.version_compat import AIRFLOW_V_3_3_PLUS

    result = submit_through(
        emulator, monkeypatch, kind, "deferrable", ("non_json", GET, {"status": 403}), max_attempts=1
    )
    assert result.state == "success"
    assert result.try_numbers["submit"] == 2
    assert emulator.backend.calls(SUBMIT[kind]) == (1 if AIRFLOW_V_3_3_PLUS else 2)
    if kind in KEYED:
        tokens = {job["params"]["ClientToken"] for job in emulator.backend.jobs.snapshot()}
        assert len(tokens) == len(emulator.backend.jobs.snapshot())  # each try its own token
