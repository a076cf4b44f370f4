"""The one place that turns every failed call into :class:`IceApiError` and decides whether to repeat it.

Three sources: ICE's error answers (classified by :mod:`.codes`, ICE's documented codes), the SDK's
exceptions (sync path), transport errors (both paths). Each error says whether it is transient
(``retryable``) and whether ICE may have acted on the request (``may_have_run``). :func:`may_retry`
applies the per-action rule: reads and stops are repeated when transient; StartAIWorkflow only when
ICE certainly did not run it, since every task is billed and the API has no idempotency token.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any

from airflow_provider_ice.client.codes import REQUEST_LINE_LIMIT, Kind, classify, rule_for
from airflow_provider_ice.exceptions import (
    CERTIFICATE_ERROR,
    CONNECTION_ERROR,
    CREDENTIAL_ERROR,
    INVALID_RESPONSE,
    OUR_CODES,
    PROXY_ERROR,
    REDIRECT,
    REQUEST_TOO_LONG,
    TIMEOUT,
    IceApiError,
)

#: Actions that create something: repeated only when the request certainly did not run.
NOT_IDEMPOTENT = frozenset({"StartAIWorkflow"})


def is_ice_answer(error: IceApiError) -> bool:
    """Whether ``error`` is an error answer from ICE itself (an Alibaba Cloud error code), not from
    the network, a proxy or a gateway in front of it."""
    return error.status_code is not None and error.code not in OUR_CODES and not error.code.startswith("HTTP")


def may_retry(action: str, error: BaseException) -> bool:
    """Whether ``action`` may be sent again after ``error``."""
    if not isinstance(error, IceApiError) or not error.retryable:
        return False
    return not (action in NOT_IDEMPOTENT and error.may_have_run)


def api_error(
    action: str,
    code: str | None,
    message: str | None,
    *,
    status_code: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    access_denied: dict[str, Any] | None = None,
) -> IceApiError:
    """An error answer from ICE (or a gateway in front of it), classified by :func:`.codes.classify`."""
    code = code or (f"HTTP{status_code}" if status_code else "UnknownError")
    kind = classify(code, status_code)
    rule = rule_for(code)
    if kind is Kind.PERMISSION:
        hint: str | None = denial_hint(action, access_denied)
    else:
        hint = rule.hint if rule is not None and rule.kind is kind and rule.hint else None
    return IceApiError(
        code,
        message or "no message",
        status_code=status_code,
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


def too_long(action: str, status: int, target: str) -> IceApiError:
    """The request line was too long for the server (every parameter travels in the URL): never
    sent again, and the error says which parameters to shrink."""
    query = target.partition("?")[2]
    sizes = {key: len(piece) - len(key) - 1 for piece in query.split("&") for key in (piece.partition("=")[0],)}
    line = len("POST  HTTP/1.1") + len(target)
    return IceApiError(
        REQUEST_TOO_LONG,
        f"{action}: HTTP {status}: the request line ({line} bytes) is longer than the server accepts",
        status_code=status,
        hint=f"every parameter travels in the URL, where Inputs takes {sizes.get('Inputs', 0)} bytes and "
        f"UserData {sizes.get('UserData', 0)} bytes URL-encoded: pass large content as OSS objects "
        "(oss://bucket/key) in Inputs and keep UserData short",
    )


def error_from_response(action: str, status: int, headers: Any, body: bytes, target: str = "/") -> IceApiError:
    """An HTTP answer that is not a success (``target``: the request's path and query string)."""
    if 300 <= status < 400:
        location = headers.get("Location") or headers.get("location") or "no Location"
        return IceApiError(
            REDIRECT,
            f"{action}: HTTP {status} redirect to {location}; ICE endpoints do not redirect: check "
            "Endpoint (endpoint) and Protocol (protocol)",
            status_code=status,
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
        hint = "; the proxy wants credentials: put them in the Proxy URL (proxy)" if status == 407 else ""
        return IceApiError(
            INVALID_RESPONSE,
            f"{action}: HTTP {status} with a non-JSON body: {body[:120]!r}{hint}",
            status_code=status,
            retryable=status >= 500 or status in (408, 429),
            may_have_run=status >= 500,
        )
    from alibabacloud_tea_openapi.utils import Utils

    retry_after_ms = Utils.get_throttling_time_left({"x-acs-retry-after": headers.get("x-acs-retry-after")})
    return api_error(
        action,
        err.get("Code") or err.get("code"),
        err.get("Message") or err.get("message"),
        status_code=status,
        request_id=err.get("RequestId") or err.get("requestId"),
        retry_after=retry_after_ms / 1000 if retry_after_ms else None,
        access_denied=_denial(err),
    )


def _denial(err: dict[str, Any]) -> dict[str, Any] | None:
    detail = err.get("AccessDeniedDetail") or err.get("accessDeniedDetail")
    return detail if isinstance(detail, dict) else None


def invalid_body(action: str, status: int, body: bytes) -> IceApiError:
    """A success status whose body is not a JSON object: ICE may have acted on it."""
    return IceApiError(
        INVALID_RESPONSE,
        f"{action}: HTTP {status} with a non-JSON body: {body[:120]!r}",
        status_code=status,
        retryable=True,
        may_have_run=True,
    )


def error_from_sdk(exc: BaseException, action: str, address: str, proxy: str | None) -> IceApiError:
    """An exception from the ICE SDK's client (sync path)."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

    ours = next((e for e in _chain(exc) if isinstance(e, IceApiError)), None)
    if ours is not None:  # raised inside the SDK's call by sdk.SdkSessionAdapter
        return ours
    if isinstance(exc, AlibabaCloudException):
        data = exc.data if isinstance(exc.data, dict) else {}
        retry_after_ms = getattr(exc, "retry_after", None)
        error = api_error(
            action,
            exc.code if exc.code not in (None, "None") else None,
            data.get("Message") or data.get("message") or exc.message,
            status_code=exc.status_code,
            request_id=exc.request_id if exc.request_id not in (None, "None") else None,
            retry_after=retry_after_ms / 1000 if retry_after_ms else None,
            access_denied=_denial(data),
        )
        if exc.status_code is None:  # raised by the SDK itself, before or without an answer
            error.may_have_run = False
        return error
    # darabonba raises RuntimeError("Failed to parse the value as json format ...") on a gateway's
    # HTML page, a plain JSONDecodeError (ValueError) elsewhere: the request was answered.
    if any(isinstance(e, ValueError) or "as json" in str(e) for e in _chain(exc) if not isinstance(e, OSError)):
        return IceApiError(
            INVALID_RESPONSE, f"{action}: response is not JSON: {str(exc)[:200]}", retryable=True, may_have_run=True
        )
    return error_from_transport(exc, action, address, proxy)


def error_from_credentials(exc: BaseException, action: str, credential_type: str) -> IceApiError:
    """Credentials could not be had (an STS/RAM-role/ECS/OIDC refresh failed): nothing was sent to ICE.
    Transient when the credentials service could not be reached, permanent otherwise."""
    chain = list(_chain(exc))
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    network = any(isinstance(e, OSError) for e in chain) or bool(names & {"ClientError", "RequestException"})
    return IceApiError(
        CREDENTIAL_ERROR,
        f"{action}: no credentials from Credential type (credential_type) {credential_type!r}: {str(chain[-1])[:300]}",
        retryable=network,
    )


def error_from_transport(exc: BaseException, action: str, address: str, proxy: str | None) -> IceApiError:
    """A failure without an answer, on either path (requests/urllib3 or aiohttp), by what the chain holds.

    Connect-phase failures (DNS, refused, connect timeout, TLS handshake, proxy refusal) prove the
    request never reached ICE; anything later (read timeout, reset, truncated answer) may have run.
    """
    chain = list(_chain(exc))
    # By name, so neither aiohttp nor requests is imported here; ``names`` includes base classes,
    # ``exact`` does not (urllib3's NewConnectionError, a refusal, subclasses ConnectTimeoutError).
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    exact = {type(e).__name__ for e in chain}
    via = f" through proxy {redact(proxy)}" if proxy else ""
    last = _scrub(str(chain[-1]) or type(chain[-1]).__name__, proxy)

    def fail(code: str, what: str, *, retryable: bool = True, may_have_run: bool = False) -> IceApiError:
        return IceApiError(code, f"{action}: {what}", retryable=retryable, may_have_run=may_have_run)

    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "ClientConnectorCertificateError" in names:
        return fail(
            CERTIFICATE_ERROR,
            f"the TLS certificate of {address} did not verify ({last}); set Verify TLS (verify) to the CA "
            "bundle that signed it (or false, for testing only)",
            retryable=False,
        )
    if "ProxyError" in names or "ClientProxyConnectionError" in names or "ClientHttpProxyError" in names:
        status = next((getattr(e, "status", None) for e in chain if type(e).__name__ == "ClientHttpProxyError"), None)
        auth = status == 407 or " 407 " in f" {last} "
        return fail(
            PROXY_ERROR,
            f"proxy {redact(proxy)} did not open a tunnel to {address} ({last})"
            + ("; the proxy wants credentials: put them in the Proxy URL (proxy)" if auth else ""),
            retryable=not auth,
        )
    if any(isinstance(e, ssl.SSLError) for e in chain) or "ClientSSLError" in names:
        plain = "WRONG_VERSION_NUMBER" in last
        return fail(
            CONNECTION_ERROR,
            f"TLS handshake with {address}{via} failed"
            + (": the server answers plain http; set Protocol (protocol) to http" if plain else f" ({last})"),
            retryable=not plain,
        )
    if "gaierror" in names or "ClientConnectorDNSError" in names or "NameResolutionError" in names:
        return fail(CONNECTION_ERROR, f"unreachable: {address}{via} — name not resolved")
    if exact & {"ConnectTimeout", "ConnectTimeoutError", "ConnectionTimeoutError"}:
        return fail(TIMEOUT, f"unreachable: {address}{via} — connect timed out")
    if "ConnectionRefusedError" in names or "Connection refused" in last:
        return fail(CONNECTION_ERROR, f"unreachable: {address}{via} — connection refused")
    if names & {"NewConnectionError", "ClientConnectorError"}:
        return fail(CONNECTION_ERROR, f"unreachable: {address}{via} — connection failed ({last})")
    if names & {"TimeoutError", "ReadTimeout", "ReadTimeoutError", "SocketTimeoutError"}:
        return fail(TIMEOUT, f"no answer from {address}{via} in time (read timeout)", may_have_run=True)
    return fail(CONNECTION_ERROR, f"connection to {address}{via} lost ({last})", may_have_run=True)


def unsure_start(error: IceApiError, query: dict[str, str]) -> IceApiError:
    """A StartAIWorkflow failure that may have created a task says so, and is not repeated by anyone."""
    if not error.may_have_run:
        return error
    user_data = query.get("UserData")
    find = f"with UserData {user_data}" if user_data else "(no UserData was set: set user_data to tell tasks apart)"
    return reworded(
        error,
        f"{error.message.rstrip('.')}. StartAIWorkflow may have created a task from workflow {query['WorkflowId']} "
        f"{find}; it was not sent again, to avoid a second billed task. Check the ICE console before retrying.",
        retryable=False,
    )


#: ICE answers that a connection's settings (or its RAM identity, or its account) caused.
_CONNECTION_KINDS = frozenset({Kind.CREDENTIALS, Kind.PERMISSION, Kind.NOT_ACTIVATED, Kind.SUSPENDED, Kind.ENDPOINT})


def in_connection(error: IceApiError, conn_id: str) -> IceApiError:
    """An authentication, permission or account error names the connection to fix (the connection
    Test gives the same hint without it: the UI tests a throwaway connection id)."""
    if error.code == CREDENTIAL_ERROR or (
        is_ice_answer(error) and classify(error.code, error.status_code) in _CONNECTION_KINDS
    ):
        where = f"in connection {conn_id!r}"
        return reworded(error, error.message, hint=f"{error.hint}; {where}" if error.hint else where)
    return error


def refused_stop(error: IceApiError, task_id: str) -> IceApiError:
    """A failed StopAIWorkflowTask says plainly what became of the task."""
    if is_ice_answer(error) and not error.may_have_run:
        fate = (
            f"ICE stops only real-time (live, RTC) AI workflow tasks: task {task_id} keeps running until it ends "
            "(and is billed as usual)"
        )
    else:
        fate = f"whether ICE stopped task {task_id} is not known: check its status"
    hint = f"{error.hint}; {fate}" if error.hint else fate
    return reworded(error, f"StopAIWorkflowTask of task {task_id} failed: {error.message.rstrip('.')}", hint=hint)


def reworded(error: IceApiError, message: str, **changes: Any) -> IceApiError:
    """``error`` with another message (and any other field changed)."""
    fields = {
        "status_code": error.status_code,
        "request_id": error.request_id,
        "retryable": error.retryable,
        "retry_after": error.retry_after,
        "may_have_run": error.may_have_run,
        "hint": error.hint,
        "access_denied": error.access_denied,
    }
    return IceApiError(error.code, message, **{**fields, **changes})


def redact(url: str | None) -> str:
    """A proxy URL with its password replaced by ``***``."""
    return _scrub(url or "", url)


def _scrub(text: str, proxy: str | None) -> str:
    """``text`` without the proxy's password (libraries quote the proxy URL in their messages)."""
    from urllib.parse import urlsplit

    password = urlsplit(proxy).password if proxy else None
    return text.replace(password, "***") if password else text


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and what it wraps: the SDK's ``inner_exception``, then causes and contexts."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "inner_exception", None) or exc.__cause__ or exc.__context__
