"""ICE's error codes as documented: each with its source and how the client treats it.

The client's error rules (:func:`classify`) come from here. The bundled emulator keeps its own
record of ICE's answers (``testing/emulator/errors.py``), and ``tests/test_contract.py`` holds the
two against each other and proves each row on both paths; the docs render the table
(``docs/_ext/contract.py``). Where ICE's documentation is silent a row says so and states the
assumption. Cheap to import (no SDK, no HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Source(StrEnum):
    """Published pages the rows cite (title and address)."""

    ICE_ERRORS = "ICE: error codes — https://help.aliyun.com/document_detail/197855.html"
    GATEWAY_ERRORS = "OpenAPI: client-side common errors — https://help.aliyun.com/en/document_detail/434846.html"
    V3_SIGNATURE = (
        "Request syntax and signature method V3 — "
        "https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature"
    )
    RAM_DENIED = (
        "RAM: DecodeDiagnosticMessage (AccessDeniedDetail) — "
        "https://www.alibabacloud.com/help/en/ram/developer-reference/api-ram-2015-05-01-decodediagnosticmessage"
    )
    START = "ICE: StartAIWorkflow — https://www.alibabacloud.com/help/en/ims/developer-reference/api-ice-2020-11-09-startaiworkflow"
    GET = (
        "ICE: GetAIWorkflowTask — "
        "https://www.alibabacloud.com/help/en/ims/developer-reference/api-ice-2020-11-09-getaiworkflowtask"
    )
    STOP = (
        "ICE: StopAIWorkflowTask — "
        "https://www.alibabacloud.com/help/en/ims/developer-reference/api-ice-2020-11-09-stopaiworkflowtask"
    )


class Kind(StrEnum):
    """How the client treats an answer. ``retryable``: sent again (after backoff); ``may_have_run``:
    ICE may have acted on it, so StartAIWorkflow is never sent again (every task is billed)."""

    THROTTLED = "throttled"
    UNAVAILABLE = "transient, may have run"
    REPLAYED = "replayed, may have run"
    PERMANENT = "permanent"
    PERMISSION = "permission"
    NOT_ACTIVATED = "not activated"
    SUSPENDED = "suspended"
    CREDENTIALS = "credentials"
    ENDPOINT = "not this API here"
    TOO_LONG = "request too long"

    @property
    def retryable(self) -> bool:
        return self in (Kind.THROTTLED, Kind.UNAVAILABLE, Kind.REPLAYED)

    @property
    def may_have_run(self) -> bool:
        return self in (Kind.UNAVAILABLE, Kind.REPLAYED)


@dataclass(frozen=True)
class ErrorRule:
    """One documented error answer.

    :param codes: the codes as spelled by their source; compared case-insensitively; a trailing
        ``.*`` matches every sub-code (``Throttling.*``).
    :param status: the documented HTTP status.
    :param kind: how the client treats it.
    :param source: the page that documents it, or ``None`` when undocumented (``assumed`` says what we assume).
    :param hint: what the user should do, appended to the error's message.
    """

    codes: tuple[str, ...]
    status: int
    kind: Kind
    source: Source | None
    hint: str = ""
    assumed: str = ""


ERRORS: tuple[ErrorRule, ...] = (
    ErrorRule(
        ("Throttling", "Throttling.User", "Throttling.Api", "Throttling.*"),
        400,
        Kind.THROTTLED,
        Source.GATEWAY_ERRORS,
    ),
    ErrorRule(
        ("RequestsTooFrequent",),
        403,
        Kind.THROTTLED,
        Source.ICE_ERRORS,
    ),
    ErrorRule(
        ("ServiceUnAvailable", "ServiceUnavailable"),
        503,
        Kind.UNAVAILABLE,
        Source.ICE_ERRORS,
        assumed="a task may have been created before a 5xx (ICE does not say)",
    ),
    ErrorRule(
        ("InternalError",),
        500,
        Kind.UNAVAILABLE,
        Source.ICE_ERRORS,
        assumed="StartAIWorkflow may have run",
    ),
    ErrorRule(
        ("MissingParameter", "Missing*"),
        400,
        Kind.PERMANENT,
        Source.ICE_ERRORS,
    ),
    ErrorRule(
        ("InvalidParameter", "InvalidParameter.*"),
        400,
        Kind.PERMANENT,
        Source.ICE_ERRORS,
        assumed="the code of a refused StopAIWorkflowTask on an offline task (undocumented)",
    ),
    ErrorRule(
        ("ResourceNotFound",),
        404,
        Kind.PERMANENT,
        Source.ICE_ERRORS,
        assumed="the answer to an unknown TaskId or WorkflowId (undocumented)",
    ),
    ErrorRule(
        ("OperationDenied.Suspended",),
        403,
        Kind.SUSPENDED,
        Source.ICE_ERRORS,
        hint="the account is suspended for an overdue payment: add funds to the Alibaba Cloud account",
    ),
    ErrorRule(
        ("OperationDenied",),
        403,
        Kind.NOT_ACTIVATED,
        Source.ICE_ERRORS,
        hint="Intelligent Media Services (ICE) is not activated for this Alibaba Cloud account: activate it in the "
        "console, for the account of the AccessKey",
    ),
    ErrorRule(
        ("Forbidden", "Forbidden.*", "NoPermission", "NotAuthorized"),
        403,
        Kind.PERMISSION,
        Source.RAM_DENIED,
        hint="grant the action to that RAM identity (a custom policy, or the system policy AliyunICEFullAccess)",
    ),
    ErrorRule(
        ("InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.*"),
        404,
        Kind.CREDENTIALS,
        Source.GATEWAY_ERRORS,
        hint="check the AccessKey ID (login) and the Region ID (region_id)",
    ),
    ErrorRule(
        ("SignatureDoesNotMatch",),
        400,
        Kind.CREDENTIALS,
        Source.GATEWAY_ERRORS,
        hint="check the AccessKey Secret (password)",
    ),
    ErrorRule(
        ("IncompleteSignature",),
        400,
        Kind.CREDENTIALS,
        Source.V3_SIGNATURE,
        hint="check the AccessKey Secret (password)",
        assumed="the code for a missing or malformed Authorization (undocumented)",
    ),
    ErrorRule(
        ("InvalidSignatureMethod",),
        400,
        Kind.CREDENTIALS,
        Source.GATEWAY_ERRORS,
    ),
    ErrorRule(
        ("InvalidSecurityToken.*",),
        400,
        Kind.CREDENTIALS,
        Source.GATEWAY_ERRORS,
        hint="check the STS security token (security_token): it may have expired",
        assumed="the sub-code the emulator answers, MismatchWithAccessKey",
    ),
    ErrorRule(
        ("InvalidTimeStamp.Expired", "InvalidTimeStamp.*"),
        400,
        Kind.CREDENTIALS,
        Source.GATEWAY_ERRORS,
        hint="check this machine's clock: requests are signed with the current time",
    ),
    ErrorRule(
        ("SignatureNonceUsed",),
        400,
        Kind.REPLAYED,
        Source.GATEWAY_ERRORS,
        assumed="the first copy of a replayed request (a proxy resending it, say) may have run",
    ),
    ErrorRule(
        ("MissingVersion", "InvalidVersion"),
        400,
        Kind.ENDPOINT,
        Source.GATEWAY_ERRORS,
        hint="check Endpoint (endpoint): it should be ICE's (ice.<region>.aliyuncs.com)",
        assumed="the gateway's Missing{Name}/Invalid{Name} pattern, applied to Version",
    ),
    ErrorRule(
        ("InvalidApi.NotFound", "InvalidAction.NotFound", "InvalidProduct.NotFound"),
        404,
        Kind.ENDPOINT,
        Source.GATEWAY_ERRORS,
        hint="check Endpoint (endpoint) and Region ID (region_id): the server there does not serve ICE's AI workflows",
    ),
)


def _matches(pattern: str, code: str) -> bool:
    pattern, code = pattern.lower(), code.lower()
    if pattern.endswith(".*"):
        return code.startswith(pattern[:-1])
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1])
    return code == pattern


def rule_for(code: str | None) -> ErrorRule | None:
    """The row documenting ``code`` (case-insensitive; exact spellings before sub-code patterns)."""
    if not code:
        return None
    exact = next((r for r in ERRORS for c in r.codes if "*" not in c and _matches(c, code)), None)
    return exact or next((r for r in ERRORS for c in r.codes if "*" in c and _matches(c, code)), None)


def classify(code: str | None, status: int | None) -> Kind:
    """How the client treats an error answer: by its code first, else by its HTTP status.

    A 5xx is :attr:`Kind.UNAVAILABLE` whatever its code (ICE does not document that nothing ran);
    HTTP 429 is throttling; 414 a request line too long; any other 4xx is permanent.
    """
    if status is not None and status >= 500:
        return Kind.UNAVAILABLE
    rule = rule_for(code)
    if rule is not None:
        return rule.kind
    if status == 429:
        return Kind.THROTTLED
    if status == 414:
        return Kind.TOO_LONG
    return Kind.PERMANENT


#: A request line longer than this that draws a non-JSON 4xx is read as "too long" (the gateway's
#: real limit is not published; 8 KB is the common web-server default the emulator also uses).
REQUEST_LINE_LIMIT = 8192
