"""The provider's exceptions.

- :class:`IceError`: the base of them all (an ``AirflowException``): every exception the hook raises,
  and every connection or argument error. The sensor and operator end a task with Airflow's own
  ``AirflowFailException``, ``AirflowSensorTimeout`` or ``AirflowSkipException``, an ``IceApiError``
  as the ``__cause__`` where a call failed.
- :class:`IceApiError`: a call to ICE failed (after any retries); one of
  - :class:`IceServiceError`: ICE, or its gateway, answered with an error code;
  - :class:`IceTransportError`: no usable answer (the network, a proxy, a page that is not ICE's);
  - :class:`IceNotSentError`: a start given up unsent (its turn in the process's pacing came too late).
- :class:`IceConfigurationError`: a connection field is missing or invalid (Airflow retries: an
  admin may fix it in between); its subclass :class:`IceArgumentError` is a bad task argument,
  which fails the task without retries.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

#: Codes of failures without an ICE error answer (:class:`IceTransportError`).
CONNECTION_FAILED = "ConnectionFailed"
CONNECT_TIMEOUT = "ConnectTimeout"
READ_TIMEOUT = "ReadTimeout"
CONNECTION_LOST = "ConnectionLost"
UNREADABLE_ANSWER = "UnreadableAnswer"
UNTRUSTED_CERTIFICATE = "UntrustedCertificate"
TLS_FAILED = "TlsHandshakeFailed"
PROXY_REFUSED = "ProxyRefused"
REDIRECTED = "Redirected"
NO_CREDENTIALS = "NoCredentials"
REQUEST_TOO_LONG = "RequestLineTooLong"
NOT_SENT = "NotSent"


class IceError(AirflowException):
    """Base of every exception the hook raises, and of connection and argument errors."""


class IceApiError(IceError):
    """A call to ICE failed (after any retries).

    :param code: ICE's error code (``Throttling.User``, ``InvalidParameter`` …), or for failures
        without an ICE answer one of this module's codes (``ConnectionFailed``, ``ReadTimeout`` …).
    :param message: what went wrong.
    :param http_status: the HTTP status of the answer; default None: none arrived.
    :param request_id: ICE's RequestId, for support tickets; default None.
    :param retryable: whether the failure is transient (retrying later may succeed); default False.
    :param retry_after: seconds the service asked us to wait (``x-acs-retry-after``), if it did;
        default None.
    :param may_have_run: whether ICE may have acted on the request (it was sent and no answer proved
        otherwise): a StartAIWorkflow that fails so is never repeated, as it may have created a task;
        default False.
    :param hint: what to do about it (which field to check, which permission to grant), shown after
        the message; default None.
    :param access_denied: the gateway's ``AccessDeniedDetail`` of a RAM denial (``AuthAction``,
        ``AuthPrincipalType``, ``AuthPrincipalDisplayName``, ``PolicyType``, ``NoPermissionType`` …);
        default None.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        may_have_run: bool = False,
        hint: str | None = None,
        access_denied: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after
        self.may_have_run = may_have_run
        self.hint = hint
        self.access_denied = access_denied
        super().__init__(str(self))

    def fields(self) -> dict[str, Any]:
        """Every keyword field, to rebuild this error (with changes: ``type(e)(e.code, m, **e.fields())``)."""
        return {
            "http_status": self.http_status,
            "request_id": self.request_id,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "may_have_run": self.may_have_run,
            "hint": self.hint,
            "access_denied": self.access_denied,
        }

    def __str__(self) -> str:
        parts = [f"HTTP {self.http_status}"] if self.http_status is not None else []
        if self.request_id:
            parts.append(f"RequestId {self.request_id}")
        text = f"{self.code}: {self.message}" + (f" ({', '.join(parts)})" if parts else "")
        return f"{text} — {self.hint}" if self.hint else text

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keyword-only fields must survive pickling (Airflow ships exceptions between processes).
        return (_rebuild_api_error, (type(self), self.code, self.message, self.fields()))


class IceServiceError(IceApiError):
    """ICE, or the OpenAPI gateway in front of it, answered with an error code (see the contract
    table, ``airflow_provider_ice.client.codes``)."""


class IceTransportError(IceApiError):
    """No usable answer from ICE: the connection failed or timed out, a proxy refused, or what came
    back was not ICE's (an HTML page, a redirect). ``may_have_run`` says whether the request may
    have reached ICE."""


class IceNotSentError(IceApiError):
    """A call given up before it was sent: its turn in the process's pacing of the action (ICE had
    throttled it) came after the call's retry time limit. ICE never received this attempt; with
    ``may_have_run`` an earlier attempt of the same submit may have run (its answer was lost).
    Only a call that may have an effect (a start or submit) gives up so; a poll waits its turn."""


def _rebuild_api_error(cls: type[IceApiError], code: str, message: str, fields: dict[str, Any]) -> IceApiError:
    return cls(code, message, **fields)


class IceConfigurationError(IceError):
    """A connection field or operator argument is missing or invalid; the message says which and how to fix it.

    :param message: what is wrong and how to fix it, naming the connection.
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
    reschedule mode this Airflow breaks): it cannot change between tries, so the task fails at once,
    without Airflow retries. Connection problems stay plain :class:`IceConfigurationError` and keep
    the retries: an admin may fix the connection in between."""


def _rebuild_configuration_error(cls: type[IceConfigurationError], message: str, detail: str) -> IceConfigurationError:
    return cls(message, detail=detail)
