"""What is repeated, per action, and how long the waits are (tenacity, full jitter, retry-after, caps)."""

from __future__ import annotations

import random

import pytest
from tenacity import RetryCallState, Retrying

from airflow_provider_ice.client.config import RetrySettings
from airflow_provider_ice.client.errors import api_error, may_retry
from airflow_provider_ice.client.retry import BackoffWait, call_with_retries
from airflow_provider_ice.exceptions import IceApiError, IceTransportError


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("Throttling", 400, True),
        ("Throttling.User", 400, True),
        ("throttling.user", 400, True),
        ("RequestsTooFrequent", 403, True),
        ("Throttling.Api", 503, True),
        ("ServiceUnAvailable", 503, True),
        ("ServiceUnavailable", 503, True),
        ("InternalError", 500, True),
        ("SomethingNew", 502, True),
        ("SomethingNew", 429, True),
        ("InvalidAccessKeyId.NotFound", 404, False),
        ("SignatureDoesNotMatch", 400, False),
        ("Forbidden.RAM", 403, False),
        ("NoPermission", 403, False),
        ("OperationDenied", 403, False),
        ("InvalidApi.NotFound", 404, False),
        ("MissingParameter", 400, False),
        ("ResourceNotFound", 404, False),
        ("SomethingNew", 400, False),
    ],
)
def test_classification(code, status, retryable):
    assert api_error("GetAIWorkflowTask", code, "m", http_status=status).retryable is retryable


@pytest.mark.parametrize(
    ("error", "start_retried"),
    [
        (api_error("StartAIWorkflow", "Throttling.User", "m", http_status=400), True),
        (api_error("StartAIWorkflow", "RequestsTooFrequent", "m", http_status=403), True),
        (api_error("StartAIWorkflow", "ServiceUnAvailable", "m", http_status=503), False),  # undocumented: may have run
        (api_error("StartAIWorkflow", "InternalError", "m", http_status=500), False),  # it may have half-run
        (api_error("StartAIWorkflow", None, "m", http_status=502), False),  # a 5xx without an error code
        (IceTransportError("ReadTimeout", "read", retryable=True, may_have_run=True), False),
        (IceTransportError("ConnectionFailed", "refused", retryable=True, may_have_run=False), True),
    ],
)
def test_start_is_repeated_only_when_ice_certainly_did_not_run_it(error, start_retried):
    assert may_retry("StartAIWorkflow", error) is start_retried
    assert may_retry("GetAIWorkflowTask", error) is True
    assert may_retry("StopAIWorkflowTask", error) is True


def _state(attempt: int, error: Exception) -> RetryCallState:
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_retry_after_is_honoured_and_capped():
    wait = BackoffWait(RetrySettings(max_attempts=5, base_delay=0.5, max_delay=3.0, max_elapsed=60))
    assert (
        wait(_state(1, api_error("GetAIWorkflowTask", "Throttling.User", "m", http_status=400, retry_after=2.0))) == 2.0
    )
    assert (
        wait(_state(1, api_error("GetAIWorkflowTask", "Throttling.User", "m", http_status=400, retry_after=30.0)))
        == 3.0
    )


def test_backoff_is_full_jitter_under_an_exponential_cap():
    random.seed(7)
    wait = BackoffWait(RetrySettings(max_attempts=10, base_delay=1.0, max_delay=6.0, max_elapsed=1000))
    error = api_error("GetAIWorkflowTask", "ServiceUnAvailable", "m", http_status=503)
    for attempt, cap in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 6.0), (8, 6.0)):
        delays = [wait(_state(attempt, error)) for _ in range(300)]
        assert all(0 <= d <= cap for d in delays)
        # jittered over the whole range: neither constant nor stuck near zero
        assert max(delays) > 0.8 * cap and min(delays) < 0.2 * cap


def test_attempts_are_bounded_and_permanent_errors_are_not_retried(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    calls = []

    def failing(error: IceApiError):
        def attempt():
            calls.append(1)
            raise error

        return attempt

    settings = RetrySettings(max_attempts=4, base_delay=0.01, max_delay=0.01, max_elapsed=100)
    unavailable = api_error("GetAIWorkflowTask", "ServiceUnAvailable", "m", http_status=503)
    with pytest.raises(IceApiError, match="ServiceUnAvailable"):
        call_with_retries("GetAIWorkflowTask", settings, failing(unavailable))
    assert len(calls) == 4
    calls.clear()
    with pytest.raises(IceApiError, match="Forbidden"):
        call_with_retries(
            "GetAIWorkflowTask",
            settings,
            failing(api_error("GetAIWorkflowTask", "Forbidden.RAM", "no", http_status=403)),
        )
    assert len(calls) == 1
