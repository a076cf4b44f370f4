"""What a connection Test answers: a verdict on the one call it makes, in the form's words.

Messages name fields by their form labels (with the extra's key), never the connection id (the UI's
Test runs on a throwaway one), and end with what to check for the common mistakes.
"""

from __future__ import annotations

from airflow_provider_ice.client.codes import Kind, classify
from airflow_provider_ice.exceptions import (
    NO_CREDENTIALS,
    REDIRECTED,
    UNREADABLE_ANSWER,
    UNTRUSTED_CERTIFICATE,
    IceApiError,
    IceServiceError,
)

OK = "credentials/endpoint OK"

#: The verdict's first word for an ICE answer of each kind that fails the Test.
_LABELS = {
    Kind.PERMISSION: "denied",
    Kind.NOT_ACTIVATED: "not activated",
    Kind.SUSPENDED: "suspended",
    Kind.CREDENTIALS: "rejected",
    Kind.REPLAYED: "rejected",
    Kind.ENDPOINT: "not ICE",
    Kind.THROTTLED: "throttled",
    Kind.UNAVAILABLE: "unavailable",
}
_THROTTLED_HINT = "ICE answered but refused the call for flow control (the account's quota): test again in a moment"

#: What to check when no credentials could be had, by credential type.
CREDENTIAL_HINTS = {
    "sts": "check the STS security token (security_token)",
    "ram_role_arn": "check Role ARN (role_arn) and that the AccessKey may assume it",
    "ecs_ram_role": "check ECS RAM role name (role_name): this must run on an ECS instance with that role",
    "oidc_role_arn": "check OIDC token file path (oidc_token_file_path), OIDC provider ARN (oidc_provider_arn) "
    "and Role ARN (role_arn)",
    "default": "the default credential chain found none: set AccessKey ID and Secret, or Credential type",
}


def verdict(exc: IceApiError, credential_type: str) -> tuple[bool, str]:
    """test_connection's verdict on a failed call. Any answer from ICE past authentication and
    permissions (such as "no such task") proves credentials and endpoint; a denial, an account that
    is not activated or suspended, a proxy's, gateway's or redirect's answer does not."""
    if isinstance(exc, IceServiceError):
        kind = classify(exc.code, exc.http_status)
        if kind is Kind.PERMANENT:
            return True, OK
        hint = exc.hint or (_THROTTLED_HINT if kind is Kind.THROTTLED else None)
        return False, f"{_LABELS.get(kind, 'rejected')}: {exc.code}: {exc.message}" + (f" — {hint}" if hint else "")
    message = exc.message.split(": ", 1)[-1]  # without the "<Action>: " prefix
    if exc.code == NO_CREDENTIALS:
        return False, f"credentials failed: {message} — {CREDENTIAL_HINTS.get(credential_type, '')}".rstrip(" —")
    message += f" — {exc.hint}" if exc.hint else ""
    if exc.code == UNTRUSTED_CERTIFICATE:
        return False, f"untrusted: {message}"
    if exc.code in (REDIRECTED, UNREADABLE_ANSWER):
        return False, f"not ICE: {message}"
    return False, message if message.startswith("unreachable") else f"unreachable: {message}"
