"""Every row of the ICE contract table, on both paths: the emulator answers as its own record of ICE's
documentation says (testing/emulator/errors.py), and the client classifies, retries and words it as
its rules say (client/codes.py). The two records are kept apart, so a wrong row on either side fails
here; the docs' table (docs/_ext/contract.py) names the test that proves each row."""

from __future__ import annotations

import itertools
import logging
import os
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_ice.client import request as request_module
from airflow_provider_ice.client import signing
from airflow_provider_ice.client.codes import ERRORS, Kind, classify, rule_for
from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.testing.emulator import FAULT_KINDS, IceEmulator
from airflow_provider_ice.testing.emulator import errors as emulator_errors
from airflow_provider_ice.testing.emulator.records import FaultKind
from tests.helpers import call, docs_contract, use_connection
from tests.test_emulator import raw_call

MODES = ["sync", "async"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: (hook method, its args, the action it calls) for a task the emulator holds running.
ACTIONS = {
    "GetAIWorkflowTask": ("get_workflow_task", ("t",)),
    "StartAIWorkflow": ("start_ai_workflow", ("wf",)),
    "StopAIWorkflowTask": ("stop_ai_workflow_task", ("t",)),
}


@pytest.fixture
def emulator(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator)
    ice_emulator.backend.add_workflow("wf", running_polls=10**6, type="Live")
    ice_emulator.backend.add_task("wf", task_id="t")
    return ice_emulator


def send(mode: str, action: str) -> object:
    method, args = ACTIONS[action]
    return call(mode, method, *args)


def failure(mode: str, action: str) -> IceApiError:
    with pytest.raises(IceApiError) as excinfo:
        send(mode, action)
    return excinfo.value


# ---- the table itself ------------------------------------------------------------------------


def test_every_row_names_a_test_that_exists():
    contract = docs_contract()
    assert set(contract.PROOF) == {r.codes[0] for r in ERRORS}
    named = {test for _, test in contract.PROOF.values()} | {b.test for b in contract.BEHAVIOURS}
    for test in named:
        module, function = test.split("::")
        with open(os.path.join(ROOT, "tests", module)) as f:
            assert re.search(rf"^(async )?def {function}\(", f.read(), re.M), test


def test_codes_are_compared_case_insensitively():
    assert classify("SERVICEUNAVAILABLE", 400) is classify("ServiceUnAvailable", 400) is Kind.UNAVAILABLE
    assert classify("throttling.user", 400) is Kind.THROTTLED
    assert classify("requeststoofrequent", 403) is Kind.THROTTLED


@pytest.mark.parametrize("code", list(emulator_errors.ERRORS))
def test_the_emulator_and_the_client_agree_on_every_code_the_emulator_answers(code):
    """Two records of ICE's documentation, kept apart: the emulator's status for a code is the one the
    client's row documents, and the client has a row for every code the emulator can answer."""
    rule = rule_for(code)
    assert rule is not None, f"the client has no rule for {code}, which the emulator answers"
    assert emulator_errors.ERRORS[code].status == rule.status, code


def test_every_fault_code_is_a_documented_code():
    for kind, codes in FAULT_KINDS.items():
        for code in codes:
            assert classify(code, None) is not Kind.PERMANENT, (kind, code)


# ---- error codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttling", None),
        ("Throttling.User", None),
        ("Throttling.Api", None),
        ("RequestsTooFrequent", None),
        ("Throttling.User", 429),
    ],
)
def test_throttling_is_retried_on_every_action(emulator, mode, action, code, status):
    emulator.backend.inject("throttling", 1, action=action, code=code, status=status)
    send(mode, action)
    assert emulator.backend.calls(action) == 2
    if action == "StartAIWorkflow":  # a refusal proves nothing ran: sent twice, one task made
        assert len(emulator.backend.tasks) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kind", "code", "status"), [("unavailable", "ServiceUnAvailable", 503), ("server_error", "InternalError", 500)]
)
def test_a_5xx_is_retried_for_reads_and_never_for_start(emulator, mode, kind, code, status):
    for action in ("GetAIWorkflowTask", "StopAIWorkflowTask"):
        emulator.backend.inject(kind, 1, action=action)
        send(mode, action)
        assert emulator.backend.calls(action) == 2
    emulator.backend.inject(kind, 1, action="StartAIWorkflow")
    err = failure(mode, "StartAIWorkflow")
    assert (err.code, err.http_status, err.may_have_run, err.retryable) == (code, status, True, False)
    assert "StartAIWorkflow may have created a task from workflow wf" in str(err)
    assert emulator.backend.calls("StartAIWorkflow") == 1


@pytest.mark.parametrize("mode", MODES)
def test_bad_requests_are_one_call(emulator, mode):
    emulator.backend.add_workflow("offline")
    offline = emulator.backend.add_task("offline")
    cases = [
        ("get_workflow_task", ("no-such-task",), "ResourceNotFound", 404),
        ("start_ai_workflow", ("no-such-workflow",), "ResourceNotFound", 404),
        ("stop_ai_workflow_task", (offline,), "InvalidParameter", 400),
    ]
    for method, args, code, status in cases:
        before = emulator.backend.calls()
        with pytest.raises(IceApiError) as excinfo:
            call(mode, method, *args)
        assert (excinfo.value.code, excinfo.value.http_status, excinfo.value.retryable) == (code, status, False)
        assert emulator.backend.calls() == before + 1
    # What the client never sends (it checks first) the emulator still refuses as ICE documents.
    assert raw_call(emulator, "GetAIWorkflowTask", {})[1]["Code"] == "MissingParameter"
    status, body = raw_call(emulator, "StartAIWorkflow", {"WorkflowId": "wf", "Inputs": "{not json"})
    assert (status, body["Code"]) == (400, "InvalidParameter")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kind", "code", "label", "says"),
    [
        ("not_activated", "OperationDenied", "not activated", "ICE) is not activated for this Alibaba Cloud account"),
        ("suspended", "OperationDenied.Suspended", "suspended", "suspended for an overdue payment"),
    ],
)
def test_account_states_are_named(emulator, mode, kind, code, label, says):
    emulator.backend.inject(kind, 1)
    err = failure(mode, "StartAIWorkflow")
    assert (err.code, err.http_status, err.retryable, err.may_have_run) == (code, 403, False, False)
    assert says in str(err)
    assert emulator.backend.calls() == 1
    emulator.backend.inject(kind, 1)
    ok, message = IceHook().test_connection()
    assert not ok and message.startswith(f"{label}: {code}: ") and says in message


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", FAULT_KINDS[FaultKind.PERMISSION_DENIED])
def test_a_permission_denial_names_the_action_and_identity(emulator, mode, code):
    emulator.backend.inject("permission_denied", 1, code=code, action="StartAIWorkflow")
    err = failure(mode, "StartAIWorkflow")
    assert (err.code, err.http_status, err.retryable, err.may_have_run) == (code, 403, False, False)
    assert err.access_denied is not None and err.access_denied["AuthAction"] == "ice:StartAIWorkflow"
    assert (
        "RAM identity 'ice-emulator-user' (SubUser) is not allowed ice:StartAIWorkflow (ImplicitDeny, "
        "AccountLevelIdentityBasedPolicy): grant ice:StartAIWorkflow to that RAM identity"
    ) in str(err)
    assert emulator.backend.calls() == 1
    # The Test fails with its own message; the raw answer carries the gateway's fields.
    emulator.backend.inject("permission_denied", 1, code=code)
    ok, message = IceHook().test_connection()
    assert not ok and message.startswith(f"denied: {code}: ") and "ice:GetAIWorkflowTask" in message
    emulator.backend.inject("permission_denied", 1, code=code)
    status, body = raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "t"})
    assert status == 403
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend", "AccessDeniedDetail"}


@pytest.mark.parametrize("mode", MODES)
def test_credential_and_gateway_refusals_are_one_call(emulator, monkeypatch, mode):
    cases = {
        "SignatureDoesNotMatch": ({"password": "not-the-secret"}, "check the AccessKey Secret (password)"),
        "InvalidAccessKeyId.NotFound": ({"login": "LTAIunknown"}, "check the AccessKey ID (login)"),
    }
    for code, (settings, hint) in cases.items():
        use_connection(monkeypatch, emulator, **settings)
        before = emulator.backend.calls()
        err = failure(mode, "GetAIWorkflowTask")
        assert (err.code, err.retryable) == (code, False) and hint in str(err)
        assert emulator.backend.calls() == before + 1
    use_connection(monkeypatch, emulator)
    # A signer that leaves a header unsigned, or signs with another algorithm (both paths sign alike).
    signer = request_module.signed_headers

    def tampered(change: Callable[[str], str]) -> Callable[..., dict[str, str]]:
        def sign(*args: Any) -> dict[str, str]:
            headers = signer(*args)
            return {**headers, "Authorization": change(headers["Authorization"])}

        return sign

    for change, code in (
        (lambda auth: auth.replace(";x-acs-version", ""), "IncompleteSignature"),
        (lambda auth: auth.replace("ACS3-HMAC-SHA256", "HMAC-SHA1"), "InvalidSignatureMethod"),
    ):
        monkeypatch.setattr(request_module, "signed_headers", tampered(change))
        before = emulator.backend.calls()
        assert (failure(mode, "StartAIWorkflow").code, emulator.backend.calls()) == (code, before + 1)
    monkeypatch.setattr(request_module, "signed_headers", signer)
    # A clock 20 minutes off: the gateway's 15-minute window refuses the signature, once.
    # (This machine's clock cannot be moved: the request's timestamp is.)
    monkeypatch.setattr(signing, "timestamp", lambda: "2020-01-01T00:00:00Z")
    err = failure(mode, "StartAIWorkflow")
    assert (err.code, err.http_status, err.retryable) == ("InvalidTimeStamp.Expired", 400, False)
    assert "check this machine's clock: requests are signed with the current time" in str(err)
    assert emulator.backend.calls("StartAIWorkflow") == 3
    assert len(emulator.backend.tasks) == 1  # "t" only: nothing was started
    # An STS token that is not the AccessKey's.
    keys = {"STS.key": {"secret": "s", "security_token": "token-a"}}
    with IceEmulator(access_keys=keys) as sts:
        use_connection(monkeypatch, sts, credential_type="sts", security_token="token-b")
        err = failure(mode, "GetAIWorkflowTask")
        assert (err.code, err.retryable) == ("InvalidSecurityToken.MismatchWithAccessKey", False)
        assert "check the STS security token (security_token)" in str(err) and sts.backend.calls() == 1


def test_the_gateway_refuses_what_the_signature_page_forbids(emulator):
    def unsigned_version(path, headers):
        auth = headers["Authorization"].replace("x-acs-version;", "").replace(";x-acs-version", "")
        return path, {**headers, "Authorization": auth}

    cases = [
        (lambda p, h: (p, {k: v for k, v in h.items() if k != "x-acs-version"}), "MissingVersion"),
        (lambda p, h: (p, {**h, "x-acs-version": "2017-03-21"}), "InvalidVersion"),
        (unsigned_version, "IncompleteSignature"),
        (
            lambda p, h: (p, {**h, "Authorization": h["Authorization"].replace("ACS3-HMAC-SHA256", "HMAC-SHA1")}),
            "InvalidSignatureMethod",
        ),
        (lambda p, h: (p, {**h, "x-acs-date": "yesterday"}), "InvalidTimeStamp.Format"),
    ]
    for tamper, code in cases:
        status, body = raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "t"}, tamper=tamper)
        assert (status, body["Code"]) == (400, code)
    assert raw_call(emulator, "ListEverything", {})[1]["Code"] == "InvalidApi.NotFound"


@pytest.mark.parametrize("mode", MODES)
def test_a_replayed_nonce_is_refused_and_ours_never_are(emulator, monkeypatch, mode):
    # The emulator remembers nonces: a request sent twice is refused the second time.
    path, headers = None, None

    def capture(p, h):
        nonlocal path, headers
        path, headers = p, h
        return p, h

    assert raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "t"}, tamper=capture)[0] == 200
    assert (
        raw_call(emulator, "GetAIWorkflowTask", {"TaskId": "t"}, tamper=lambda p, h: (path, headers))[1]["Code"]
        == "SignatureNonceUsed"
    )
    # Ours: every attempt is signed afresh, retries included.
    emulator.backend.inject("throttling", 3)
    for _ in range(3):
        send(mode, "GetAIWorkflowTask")
    # A replay of one of ours (a proxy resending it, say) means the first copy may have run: a
    # Get is retried under a new nonce, a Start is not sent again.
    fixed = f"fixed-{uuid.uuid4()}"  # the session's emulator remembers the nonces of earlier tests
    replays, fresh = [fixed, fixed], (f"n-{uuid.uuid4()}" for _ in itertools.count())
    monkeypatch.setattr(signing, "token_hex", lambda size: replays.pop(0) if replays else next(fresh))
    before = emulator.backend.calls("GetAIWorkflowTask")
    send(mode, "GetAIWorkflowTask")
    send(mode, "GetAIWorkflowTask")  # the fixed nonce again: refused, retried under a fresh one
    assert emulator.backend.calls("GetAIWorkflowTask") == before + 3
    replays.append(fixed)
    err = failure(mode, "StartAIWorkflow")
    assert (err.code, err.may_have_run) == ("SignatureNonceUsed", True)
    assert emulator.backend.calls("StartAIWorkflow") == 1


def test_date_and_nonce_checks_can_be_switched_off(monkeypatch):
    # (This machine's clock cannot be moved: the request's timestamp is.)
    monkeypatch.setattr(signing, "timestamp", lambda: "2020-01-01T00:00:00Z")
    monkeypatch.setattr(signing, "token_hex", lambda size: "always-the-same")
    with IceEmulator(check_date=False, check_nonce=False) as emulator:
        use_connection(monkeypatch, emulator)
        emulator.backend.add_workflow("wf")
        for _ in range(2):
            call("sync", "start_ai_workflow", "wf")
        assert len(emulator.backend.tasks) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "retried", "start_sent"), [(503, True, 1), (429, True, 2), (403, False, 1)])
def test_unknown_codes_are_classified_by_status(emulator, mode, status, retried, start_sent):
    emulator.backend.inject("non_json", 1, status=status, action="GetAIWorkflowTask")
    if retried:
        send(mode, "GetAIWorkflowTask")
    else:
        assert failure(mode, "GetAIWorkflowTask").http_status == status
    assert emulator.backend.calls("GetAIWorkflowTask") == (2 if retried else 1)
    emulator.backend.inject("non_json", 1, status=status, action="StartAIWorkflow")
    if start_sent == 2:
        send(mode, "StartAIWorkflow")
    else:
        failure(mode, "StartAIWorkflow")
    assert emulator.backend.calls("StartAIWorkflow") == start_sent


# ---- behaviours ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_request_line_too_long_is_one_call_naming_inputs(emulator, monkeypatch, mode):
    inputs = {"video": "oss://bucket/in.mp4", "script": "x" * 9000}
    err = failure_of(mode, "start_ai_workflow", "wf", inputs=inputs, user_data="run-42")
    assert (err.code, err.http_status, err.retryable, err.may_have_run) == ("RequestLineTooLong", 414, False, False)
    assert re.search(r"Inputs takes 9\d{3} bytes and UserData 6 bytes URL-encoded", str(err))
    assert "pass large content as OSS objects (oss://bucket/key) in Inputs" in str(err)
    assert emulator.backend.calls("StartAIWorkflow") == 1 and emulator.backend.tasks.keys() == {"t"}
    # A gateway that answers an over-long line with a non-JSON 400 instead is read the same way.
    with IceEmulator(max_request_line=64 * 1024) as roomy:
        use_connection(monkeypatch, roomy)
        roomy.backend.add_workflow("wf")
        roomy.backend.inject("non_json", 1, status=400)
        err = failure_of(mode, "start_ai_workflow", "wf", inputs=inputs)
        assert (err.code, err.http_status) == ("RequestLineTooLong", 400)
        assert roomy.backend.calls() == 1


def failure_of(mode: str, method: str, *args: Any, **kwargs: Any) -> IceApiError:
    with pytest.raises(IceApiError) as excinfo:
        call(mode, method, *args, **kwargs)
    return excinfo.value


@pytest.mark.parametrize("mode", MODES)
def test_user_data_is_any_string(emulator, mode):
    for user_data, stored in (("run-42", "run-42"), ('{"a": 1}', '{"a": 1}'), ({"a": 1}, '{"a":1}')):
        task_id = call(mode, "start_ai_workflow", "wf", user_data=user_data)
        assert emulator.backend.tasks[task_id].user_data == stored  # reached ICE unchanged
    assert call(mode, "get_workflow_task", task_id).user_data == {"a": 1}
    task_id = call(mode, "start_ai_workflow", "wf", user_data="run-42")
    assert call(mode, "get_workflow_task", task_id).user_data == "run-42"


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_stop_says_the_task_keeps_running(emulator, mode):
    emulator.backend.add_workflow("offline", running_polls=10**6)
    offline = emulator.backend.add_task("offline")
    err = failure_of(mode, "stop_ai_workflow_task", offline)
    assert f"StopAIWorkflowTask of task {offline} failed" in str(err)
    assert str(err).endswith(
        f"ICE stops only real-time (live, RTC) AI workflow tasks: task {offline} keeps running until it ends "
        "(and is billed as usual)"
    )
    assert emulator.backend.tasks[offline].status == "running"
    call(mode, "stop_ai_workflow_task", "t")  # a Live task stops
    assert emulator.backend.tasks["t"].status == "stopped"


async def test_an_unknown_status_is_warned_about_and_polled_on(emulator, caplog, capsys):
    from airflow_provider_ice.sensors.ice import IceWorkflowTaskSensor
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger

    def times_logged(text: str) -> int:
        # Airflow 3 logs a trigger through structlog (stdout), Airflow 2 through logging (captured
        # twice there): one source has to have it once.
        seen = max(caplog.text.count(text), capsys.readouterr().out.count(text))
        caplog.clear()
        return seen

    caplog.set_level(logging.WARNING)
    emulator.backend.add_workflow("queued", running_polls=3, running_status="queued")
    emulator.backend.add_workflow("odd", running_polls=10**6, running_status="")
    warning = "reports status 'queued', which is none of the statuses ICE documents"
    # async: the trigger warns once and polls on to the end
    task_id = emulator.backend.add_task("queued")
    async for event in IceWorkflowTaskTrigger(task_id, poll_interval=0.01).run():
        assert event.payload["status"] == "success"
    assert times_logged(warning) == 1
    # sync: the sensor's poke does the same
    sensor = IceWorkflowTaskSensor(task_id="s", workflow_task_id=emulator.backend.add_task("queued"), poke_interval=1)
    assert [sensor.poke({}) for _ in range(3)] == [False, False, False]
    assert times_logged(warning) == 1
    # no status at all, until the deadline: the timeout names what was seen last
    trigger = IceWorkflowTaskTrigger(emulator.backend.add_task("odd"), poll_interval=0.01, timeout=0.3)
    async for event in trigger.run():
        assert event.payload["status"] == "timeout"
        assert "its last status was ''" in event.payload["message"]
    assert times_logged("reports no status") == 1
