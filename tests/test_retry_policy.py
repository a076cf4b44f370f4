"""What counts as transient: Throttling* whatever the HTTP status, 5xx, transport failures; nothing else."""

from __future__ import annotations

import pytest

from airflow_provider_ice.hooks.connection_config import RetrySettings
from airflow_provider_ice.hooks.retry import RetryBudget, api_error, is_retryable


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("Throttling", 400, True),
        ("Throttling.User", 400, True),
        ("Throttling.Api", 503, True),
        ("ServiceUnavailable", 503, True),
        ("InternalError", 500, True),
        ("SomethingNew", 502, True),
        ("ConnectionError", None, True),
        ("Timeout", None, True),
        ("InvalidResponse", 502, True),
        ("InvalidAccessKeyId.NotFound", 404, False),
        ("SignatureDoesNotMatch", 403, False),
        ("Forbidden.RAM", 403, False),
        ("InvalidAction.NotFound", 404, False),
        ("MissingParameter.TaskId", 400, False),
        ("InvalidParameter.TaskNotFound", 404, False),
    ],
)
def test_classification(code, status, retryable):
    assert is_retryable(code, status) is retryable
    assert api_error(code, "m", status_code=status).retryable is retryable


def test_retry_after_is_honoured_and_capped():
    budget = RetryBudget(RetrySettings(max_attempts=5, base_delay=0.5, max_delay=3.0, max_elapsed=60))
    assert budget.next_delay(api_error("Throttling.User", "m", status_code=400, retry_after=2.0)) == 2.0
    assert budget.next_delay(api_error("Throttling.User", "m", status_code=400, retry_after=30.0)) == 3.0


def test_backoff_grows_with_full_jitter_and_stops_at_max_attempts():
    budget = RetryBudget(RetrySettings(max_attempts=4, base_delay=1.0, max_delay=100.0, max_elapsed=1000))
    error = api_error("ServiceUnavailable", "m", status_code=503)
    delays = [budget.next_delay(error) for _ in range(3)]
    assert all(0 <= d <= cap for d, cap in zip(delays, (1.0, 2.0, 4.0), strict=True))
    with pytest.raises(type(error)):
        budget.next_delay(error)


def test_permanent_errors_are_not_retried():
    budget = RetryBudget(RetrySettings())
    with pytest.raises(type(api_error("Forbidden", "m"))):
        budget.next_delay(api_error("Forbidden.RAM", "no", status_code=403))
    assert budget.attempts == 1
