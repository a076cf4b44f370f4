"""Test-button verdicts for answers the emulator does not produce (clock skew, RAM denial, a TLS
certificate path is covered against the emulator in test_failures): built from IceApiError directly."""

from __future__ import annotations

import pytest

from airflow_provider_ice.connection_check import OK, verdict
from airflow_provider_ice.exceptions import IceApiError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            IceApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", status_code=400),
            "rejected: InvalidTimeStamp.Expired: Specified time stamp or date value is expired. — check this "
            "machine's clock: requests are signed with the current time",
        ),
        (
            IceApiError("Forbidden.RAM", "User not authorized to operate on the specified resource.", status_code=403),
            "— the RAM user or role lacks permission for ICE (e.g. AliyunICEFullAccess)",
        ),
        (
            IceApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", status_code=404),
            "— check the AccessKey ID (login) and the Region ID (region_id)",
        ),
        (
            IceApiError("CertificateError", "GetAIWorkflowTask: the TLS certificate of h:443 did not verify"),
            "untrusted: the TLS certificate of h:443 did not verify",
        ),
        (
            IceApiError("InvalidResponse", "GetAIWorkflowTask: response is not JSON: <html>", retryable=True),
            "not ICE: response is not JSON: <html>",
        ),
        (
            IceApiError("Timeout", "GetAIWorkflowTask: unreachable: h:443 — connect timed out", retryable=True),
            "unreachable: h:443 — connect timed out",
        ),
    ],
)
def test_failures_read_as_what_to_check(error, expected):
    ok, message = verdict(error, "access_key")
    assert not ok
    assert expected in message
    assert not message.startswith("unreachable") or error.code == "Timeout"


def test_an_ice_answer_past_authentication_proves_the_connection():
    error = IceApiError("InvalidParameter.TaskId", "The specified task does not exist.", status_code=404)
    assert verdict(error, "access_key") == (True, OK)
