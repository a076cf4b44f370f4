"""Test-button verdicts, one error at a time (the same answers from the emulator, on the wire, are in
test_contract and test_failures)."""

from __future__ import annotations

import pytest

from airflow_provider_ice.client.errors import api_error
from airflow_provider_ice.connection_check import OK, verdict
from airflow_provider_ice.exceptions import IceTransportError

GET = "GetAIWorkflowTask"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            api_error(
                GET, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", http_status=400
            ),
            "rejected: InvalidTimeStamp.Expired: Specified time stamp or date value is expired. — check this "
            "machine's clock: requests are signed with the current time",
        ),
        (
            api_error(
                GET, "Forbidden.RAM", "User not authorized to operate on the specified resource.", http_status=403
            ),
            "denied: Forbidden.RAM: User not authorized to operate on the specified resource. — the connection's RAM "
            "identity is not allowed ice:GetAIWorkflowTask: grant ice:GetAIWorkflowTask to that RAM identity",
        ),
        (
            api_error(GET, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", http_status=404),
            "— check the AccessKey ID (login) and the Region ID (region_id)",
        ),
        (
            api_error(GET, "Throttling.User", "Request was denied due to user flow control.", http_status=400),
            "throttled: Throttling.User: Request was denied due to user flow control. — ICE answered but refused",
        ),
        (
            IceTransportError("UntrustedCertificate", "GetAIWorkflowTask: the TLS certificate of h:443 did not verify"),
            "untrusted: the TLS certificate of h:443 did not verify",
        ),
        (
            IceTransportError("UnreadableAnswer", "GetAIWorkflowTask: response is not JSON: <html>", retryable=True),
            "not ICE: response is not JSON: <html>",
        ),
        (
            IceTransportError(
                "ConnectTimeout", "GetAIWorkflowTask: unreachable: h:443 — connect timed out", retryable=True
            ),
            "unreachable: h:443 — connect timed out",
        ),
    ],
)
def test_failures_read_as_what_to_check(error, expected):
    ok, message = verdict(error, "access_key")
    assert not ok
    assert expected in message
    assert not message.startswith("unreachable") or error.code == "ConnectTimeout"


def test_an_ice_answer_past_authentication_proves_the_connection():
    error = api_error(GET, "ResourceNotFound", "The specified resource TaskId t is not found.", http_status=404)
    assert verdict(error, "access_key") == (True, OK)
