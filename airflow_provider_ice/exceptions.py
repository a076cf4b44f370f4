"""The provider's exceptions: one for rejected or failed API calls, one for bad configuration (with
its argument-error subclass, which fails a task without retries)."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

#: Our codes for failures that produced no usable ICE answer (see :mod:`.client.errors`).
CONNECTION_ERROR = "ConnectionError"
TIMEOUT = "Timeout"
INVALID_RESPONSE = "InvalidResponse"
CERTIFICATE_ERROR = "CertificateError"
PROXY_ERROR = "ProxyError"
REDIRECT = "Redirect"
CREDENTIAL_ERROR = "CredentialError"
REQUEST_TOO_LONG = "RequestLineTooLong"
#: Every code of ours: an error with one of these is not an answer from ICE.
OUR_CODES = frozenset(
    {
        CONNECTION_ERROR,
        TIMEOUT,
        INVALID_RESPONSE,
        CERTIFICATE_ERROR,
        PROXY_ERROR,
        REDIRECT,
        CREDENTIAL_ERROR,
        REQUEST_TOO_LONG,
    }
)


class IceApiError(AirflowException):
    """An ICE API call failed (after any retries).

    :param code: the Alibaba Cloud error code (``Throttling.User``, ``InvalidParameter``…) or one of
        ours for failures without a response: ``ConnectionError``, ``Timeout``, ``InvalidResponse``.
    :param message: the service's message.
    :param status_code: the HTTP status, None when no response arrived.
    :param request_id: the service's RequestId, for support tickets.
    :param retryable: whether the failure is transient (retrying later may succeed).
    :param retry_after: seconds the service asked us to wait (``x-acs-retry-after``), if it did.
    :param may_have_run: whether ICE may have acted on the request (it was sent and no answer proved
        otherwise): a StartAIWorkflow that fails so is never repeated, as it may have created a task.
    :param hint: what to do about it (which field to check, which permission to grant), shown after the message.
    :param access_denied: the gateway's ``AccessDeniedDetail`` of a RAM denial (``AuthAction``,
        ``AuthPrincipalType``, ``AuthPrincipalDisplayName``, ``PolicyType``, ``NoPermissionType`` …).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        may_have_run: bool = False,
        hint: str | None = None,
        access_denied: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        # AirflowException types status_code as HTTPStatus (for the API server); ours is the ICE answer's.
        self.status_code = status_code  # type: ignore[assignment]
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after
        self.may_have_run = may_have_run
        self.hint = hint
        self.access_denied = access_denied
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}"]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.request_id:
            parts.append(f"RequestId {self.request_id}")
        text = parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")
        return f"{text} — {self.hint}" if self.hint else text

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keyword-only fields must survive pickling (Airflow ships exceptions between processes).
        return (
            _rebuild,
            (
                self.code,
                self.message,
                self.status_code,
                self.request_id,
                self.retryable,
                self.retry_after,
                self.may_have_run,
                self.hint,
                self.access_denied,
            ),
        )


def _rebuild(
    code: str,
    message: str,
    status_code: int | None,
    request_id: str | None,
    retryable: bool,
    retry_after: float | None,
    may_have_run: bool = False,
    hint: str | None = None,
    access_denied: dict[str, Any] | None = None,
) -> IceApiError:
    return IceApiError(
        code,
        message,
        status_code=status_code,
        request_id=request_id,
        retryable=retryable,
        retry_after=retry_after,
        may_have_run=may_have_run,
        hint=hint,
        access_denied=access_denied,
    )


class IceConfigurationError(AirflowException):
    """A connection field or operator argument is missing or invalid; the message says which and how to fix it.

    :param detail: the message without the connection id (what the connection form's Test shows,
        where the id is Airflow's throwaway one); defaults to the message.
    """

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild_configuration_error, (type(self), str(self), self.detail))


class IceArgumentError(IceConfigurationError, AirflowFailException):
    """An argument of a task or hook call is invalid (a blank id, inputs that are not JSON, a
    feature this Airflow lacks): it cannot change between tries, so the task fails at once, without
    Airflow retries. Connection problems stay plain :class:`IceConfigurationError` and keep the
    retries: an admin may fix the connection in between."""


def _rebuild_configuration_error(cls: type[IceConfigurationError], message: str, detail: str) -> IceConfigurationError:
    return cls(message, detail=detail)
