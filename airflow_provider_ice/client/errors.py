"""The one place that turns every failed call into an :class:`IceApiError` and decides whether to repeat it.

Two kinds: ICE's answers (:class:`IceServiceError`, classified by :mod:`.codes`, ICE's documented
codes) and failures without one (:class:`IceTransportError`: exceptions by type through
:mod:`.failures`, pages that are not ICE's, credentials that cannot be had). Each error says whether
it is transient (``retryable``) and whether ICE may have acted on the request (``may_have_run``).
:func:`may_retry` applies the per-action rule: reads and stops are repeated when transient;
an action that creates a job only when ICE certainly did not run it, since every job is billed:
StartAIWorkflow always (it has no idempotency key), a Submit* action unless it carries a
``ClientToken``, ICE's idempotency key (a resend with the same token is answered with the job the
first request made).
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_provider_ice.client.codes import REQUEST_LINE_LIMIT, Kind, classify, rule_for
from airflow_provider_ice.exceptions import (
    NO_CREDENTIALS,
    REDIRECTED,
    REQUEST_TOO_LONG,
    UNREADABLE_ANSWER,
    IceApiError,
    IceServiceError,
    IceTransportError,
)
from airflow_provider_ice.kinds import SUBMIT_ACTIONS, JobKind

#: Actions that create a job: repeated only when the request certainly did not run, unless it carries
#: an idempotency key (``keyed``: a Submit* action's ClientToken, which the hook always sends).
NOT_IDEMPOTENT = SUBMIT_ACTIONS


def is_throttling(error: IceApiError) -> bool:
    """Whether ICE (or what stands in front of it) refused the call for flow control."""
    if isinstance(error, IceServiceError):
        return classify(error.code, error.http_status) is Kind.THROTTLED
    return error.http_status == 429


def may_retry(action: str, error: BaseException, keyed: bool = False) -> bool:
    """Whether ``action`` may be sent again after ``error``; ``keyed``: the request carries an
    idempotency key (ClientToken), so a resend cannot make a second job."""
    if not isinstance(error, IceApiError) or not error.retryable:
        return False
    return keyed or not (action in NOT_IDEMPOTENT and error.may_have_run)


def api_error(
    action: str,
    code: str | None,
    message: str | None,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    access_denied: dict[str, Any] | None = None,
) -> IceServiceError:
    """An error answer from ICE (or its gateway), classified by :func:`.codes.classify`."""
    code = code or (f"HTTP{http_status}" if http_status else "UnknownError")
    kind = classify(code, http_status)
    rule = rule_for(code)
    if kind is Kind.PERMISSION:
        hint: str | None = denial_hint(action, access_denied)
    else:
        hint = rule.hint if rule is not None and rule.kind is kind and rule.hint else None
    return IceServiceError(
        code,
        message or "no message",
        http_status=http_status,
        request_id=request_id,
        retryable=kind.retryable,
        retry_after=retry_after,
        may_have_run=kind.may_have_run,
        hint=hint,
        access_denied=access_denied or None,
    )


def denial_hint(action: str, detail: dict[str, Any] | None) -> str:
    """What a RAM denial says to do: the denied action, the identity, and to grant it."""
    detail = detail or {}
    denied = detail.get("AuthAction") or f"ice:{action}"
    who, principal_type = detail.get("AuthPrincipalDisplayName"), detail.get("AuthPrincipalType")
    identity = f"RAM identity {who!r}" if who else "the connection's RAM identity"
    if principal_type:
        identity += f" ({principal_type})"
    why = ", ".join(str(v) for v in (detail.get("NoPermissionType"), detail.get("PolicyType")) if v)
    text = f"{identity} is not allowed {denied}" + (f" ({why})" if why else "")
    text += f": grant {denied} to that RAM identity (a custom policy, or the system policy AliyunICEFullAccess)"
    if detail.get("EncodedDiagnosticMessage"):
        text += "; RAM's DecodeDiagnosticMessage decodes the EncodedDiagnosticMessage of the answer"
    return text


def too_long(action: str, status: int, target: str) -> IceTransportError:
    """The request line was too long for the server (every parameter travels in the URL): never
    sent again, and the error says which parameters to shrink."""
    query = target.partition("?")[2]
    sizes = {key: len(piece) - len(key) - 1 for piece in query.split("&") for key in (piece.partition("=")[0],)}
    line = len("POST  HTTP/1.1") + len(target)
    return IceTransportError(
        REQUEST_TOO_LONG,
        f"{action}: HTTP {status}: the request line ({line} bytes) is longer than the server accepts",
        http_status=status,
        hint=f"every parameter travels in the URL, where Inputs takes {sizes.get('Inputs', 0)} bytes and "
        f"UserData {sizes.get('UserData', 0)} bytes URL-encoded: pass large content as OSS objects "
        "(oss://bucket/key) in Inputs and keep UserData short",
    )


def read_answer(action: str, status: int, headers: Any, body: bytes, target: str) -> dict[str, Any]:
    """Every answer, from either sender: a success's JSON body, or the error it is (raised)."""
    if status >= 300:
        raise error_from_response(action, status, headers, body, target)
    try:
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError
    except ValueError:
        # A success status whose body is not ICE's: ICE may have acted on it.
        raise IceTransportError(
            UNREADABLE_ANSWER,
            f"{action}: HTTP {status} with a body that is not JSON: {body[:120]!r}",
            http_status=status,
            retryable=True,
            may_have_run=True,
        ) from None
    return decoded


def error_from_response(action: str, status: int, headers: Any, body: bytes, target: str = "/") -> IceApiError:
    """An HTTP answer that is not a success (``target``: the request's path and query string)."""
    if 300 <= status < 400:
        location = headers.get("Location") or headers.get("location") or "no Location"
        return IceTransportError(
            REDIRECTED,
            f"{action}: HTTP {status} redirect to {location}; ICE endpoints do not redirect: check "
            "Endpoint (endpoint) and Protocol (protocol)",
            http_status=status,
        )
    if status == 414:
        return too_long(action, status, target)
    try:
        err = json.loads(body)
        if not isinstance(err, dict):
            raise ValueError
    except ValueError:
        # A gateway's or proxy's page, not an Alibaba Cloud error body.
        if 400 <= status < 500 and len(target) > REQUEST_LINE_LIMIT:
            return too_long(action, status, target)
        hint = "the proxy wants credentials: put them in the Proxy URL (proxy)" if status == 407 else None
        if status == 400 and b"plain HTTP request was sent to HTTPS port" in body:  # nginx's (and Tengine's) page
            hint = "the server wants HTTPS: set Protocol (protocol) to https"
        return IceTransportError(
            UNREADABLE_ANSWER,
            f"{action}: HTTP {status} with a body that is not JSON: {body[:120]!r}",
            http_status=status,
            retryable=status >= 500 or status in (408, 429),
            may_have_run=status >= 500,
            hint=hint,
        )
    return api_error(
        action,
        err.get("Code") or err.get("code"),
        err.get("Message") or err.get("message"),
        http_status=status,
        request_id=err.get("RequestId") or err.get("requestId"),
        retry_after=_retry_after(headers),
        access_denied=_denial(err),
    )


def _retry_after(headers: Any) -> float | None:
    """``x-acs-retry-after`` (milliseconds), as the SDK reads it."""
    try:
        value = float(headers.get("x-acs-retry-after") or 0)
    except ValueError:
        return None
    return value / 1000 if value > 0 else None


def _denial(err: dict[str, Any]) -> dict[str, Any] | None:
    detail = err.get("AccessDeniedDetail") or err.get("accessDeniedDetail")
    return detail if isinstance(detail, dict) else None


#: The default chain's providers, as alibabacloud-credentials names them in its error, in our words.
_CHAIN_SOURCES = {
    "EnvironmentVariable": "ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET",
    "OIDCRoleArn": "OIDC (ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE)",
    "CLIProfile": "~/.aliyun/config.json",
    "Profile": "~/.alibabacloud/credentials.ini",
    "EcsRamRole": "the ECS instance's RAM role",
    "URL": "ALIBABA_CLOUD_CREDENTIALS_URI",
}


def error_from_credentials(exc: BaseException, action: str, credential_type: str) -> IceTransportError:
    """Credentials could not be had (an STS/RAM-role/ECS/OIDC refresh failed, or the default chain
    found none): nothing was sent to ICE. Transient when the credentials service could not be
    reached, permanent otherwise. The default chain's failure is one short message with the fix."""
    from airflow_provider_ice.client.failures import chain, known_cause

    errors = list(chain(exc))
    network = any(isinstance(e, OSError) or known_cause(e) for e in errors)
    text = str(errors[-1])
    if "providers in the chain" in text:
        tried = [_CHAIN_SOURCES.get(name, name) for name in re.findall(r"[\'\"](\w+?)CredentialsProvider:", text)]
        return IceTransportError(
            NO_CREDENTIALS,
            f"{action}: no credentials: the connection has no AccessKey, and Credential type (credential_type) "
            f"{credential_type!r} found none in {', '.join(tried) or 'the default chain'}",
            retryable=False,
            hint="set the AccessKey ID (login) and AccessKey Secret (password), or give the workers and triggerers "
            "one of those credentials",
        )
    return IceTransportError(
        NO_CREDENTIALS,
        f"{action}: no credentials from Credential type (credential_type) {credential_type!r}: {text[:300]}",
        retryable=network,
    )


def unsure_submit(error: IceApiError, kind: JobKind, query: dict[str, str]) -> IceApiError:
    """A failed submit (StartAIWorkflow, a Submit* action) that may have created a job says so, and
    is not repeated in this call. With a ``ClientToken``, ICE's idempotency key, the message says a
    retry sends the same one."""
    if not error.may_have_run:
        return error
    message, action = error.message.rstrip("."), kind.submit_action
    token = query.get("ClientToken")
    if token:
        return reworded(
            error,
            f"{message}. {action} may have created a job (ClientToken {token}); any resend carried the same "
            f"token (ICE's idempotency key). Look for the job in the ICE console before running the task again.",
            retryable=False,
        )
    noun = kind.unit
    user_data = query.get("UserData")
    find = f"with UserData {user_data}" if user_data else f"(no UserData was set: set user_data to tell {noun}s apart)"
    source = f" from workflow {query['WorkflowId']}" if query.get("WorkflowId") else ""  # a workflow's start
    return reworded(
        error,
        f"{message}. {action} may have created a {noun}{source} {find}; it was not sent again, to avoid a second "
        f"billed {noun}. Check the ICE console before retrying.",
        retryable=False,
    )


#: ICE answers that a connection's settings (or its RAM identity, or its account) caused.
_CONNECTION_KINDS = frozenset({Kind.CREDENTIALS, Kind.PERMISSION, Kind.NOT_ACTIVATED, Kind.SUSPENDED, Kind.ENDPOINT})


def in_connection(error: IceApiError, conn_id: str) -> IceApiError:
    """An authentication, permission or account error names the connection to fix (the connection
    Test gives the same hint without it: the UI tests a throwaway connection id)."""
    if error.code == NO_CREDENTIALS or (
        isinstance(error, IceServiceError) and classify(error.code, error.http_status) in _CONNECTION_KINDS
    ):
        where = f"in connection {conn_id!r}"
        return reworded(error, error.message, hint=f"{error.hint}; {where}" if error.hint else where)
    return error


def refused_stop(error: IceApiError, task_id: str) -> IceApiError:
    """A failed StopAIWorkflowTask says plainly what became of the task."""
    if isinstance(error, IceServiceError) and not error.may_have_run:
        fate = (
            f"ICE stops only real-time (live, RTC) AI workflow tasks: task {task_id} keeps running until it ends "
            "(and is billed as usual)"
        )
    else:
        fate = f"whether ICE stopped task {task_id} is not known: check its status"
    hint = f"{error.hint}; {fate}" if error.hint else fate
    return reworded(error, f"StopAIWorkflowTask of task {task_id} failed: {error.message.rstrip('.')}", hint=hint)


def reworded(error: IceApiError, message: str, **changes: Any) -> IceApiError:
    """``error`` (same class) with another message, and any other field changed."""
    return type(error)(error.code, message, **{**error.fields(), **changes})
