"""The error answers the emulator gives, as ICE and its OpenAPI gateway document them: each code with
its HTTP status and the page it comes from, or the assumption made where no page says.

The emulator's own record, kept apart from the client's rules (``airflow_provider_ice.client``):
the tests hold one against the other, so a wrong row on either side fails them. Each row cites the
page that gives its code and HTTP status; where a page gives the code but not its status, or the
code is our reading of a pattern, ``assumed`` says so rather than cite a page that does not say it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The pages the records cite, by what they are.
PAGES = {
    "ice": "https://help.aliyun.com/document_detail/197855.html (ICE: error codes)",
    "gateway": "https://help.aliyun.com/en/document_detail/434846.html (OpenAPI: common errors)",
    "v3": "https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature "
    "(the V3 signature)",
    "ram": "https://www.alibabacloud.com/help/en/ram/developer-reference/api-ram-2015-05-01-decodediagnosticmessage "
    "(RAM: AccessDeniedDetail)",
}
ICE_ERRORS, GATEWAY_ERRORS, V3_SIGNATURE, RAM_DENIED = PAGES["ice"], PAGES["gateway"], PAGES["v3"], PAGES["ram"]


@dataclass(frozen=True)
class Documented:
    """An error answer: its HTTP status, the page that documents the code, and what is assumed."""

    status: int
    source: str
    assumed: str = ""


_STATUS_ASSUMED = "the HTTP status (the page lists the code, not its status)"

ERRORS: dict[str, Documented] = {
    "Throttling": Documented(400, GATEWAY_ERRORS),
    "Throttling.User": Documented(400, GATEWAY_ERRORS),
    "Throttling.Api": Documented(400, GATEWAY_ERRORS),
    "RequestsTooFrequent": Documented(403, ICE_ERRORS),
    "ServiceUnAvailable": Documented(503, ICE_ERRORS),
    "InternalError": Documented(500, ICE_ERRORS),
    "MissingParameter": Documented(400, ICE_ERRORS),
    "InvalidParameter": Documented(400, ICE_ERRORS, "the code of a refused StopAIWorkflowTask on an offline task"),
    "ResourceNotFound": Documented(404, ICE_ERRORS, "the answer to an unknown TaskId or WorkflowId"),
    "OperationDenied": Documented(403, ICE_ERRORS),
    "OperationDenied.Suspended": Documented(403, ICE_ERRORS),
    "Forbidden": Documented(403, RAM_DENIED, _STATUS_ASSUMED),
    "Forbidden.RAM": Documented(403, RAM_DENIED, _STATUS_ASSUMED),
    "NoPermission": Documented(403, RAM_DENIED, _STATUS_ASSUMED),
    "NotAuthorized": Documented(403, RAM_DENIED, _STATUS_ASSUMED),
    "InvalidAccessKeyId.NotFound": Documented(404, GATEWAY_ERRORS),
    "SignatureDoesNotMatch": Documented(400, GATEWAY_ERRORS),
    "IncompleteSignature": Documented(400, V3_SIGNATURE, "the code for a missing or malformed Authorization"),
    "InvalidSignatureMethod": Documented(400, GATEWAY_ERRORS),
    "InvalidSecurityToken.MismatchWithAccessKey": Documented(400, GATEWAY_ERRORS, "this sub-code's spelling"),
    "InvalidTimeStamp.Expired": Documented(400, GATEWAY_ERRORS),
    "InvalidTimeStamp.Format": Documented(400, GATEWAY_ERRORS, "this sub-code's spelling"),
    "SignatureNonceUsed": Documented(400, GATEWAY_ERRORS),
    "MissingVersion": Documented(400, GATEWAY_ERRORS, "the gateway's Missing{Name} pattern, applied to Version"),
    "InvalidVersion": Documented(400, GATEWAY_ERRORS, "the gateway's Invalid{Name} pattern, applied to Version"),
    "InvalidApi.NotFound": Documented(404, GATEWAY_ERRORS),
}

#: The longest request line the emulator accepts (HTTP 414 past it). ICE's gateway publishes no
#: limit: assumed, the common web-server default of 8 KB.
REQUEST_LINE_LIMIT = 8192


def status_of(code: str) -> int:
    """The HTTP status the emulator answers ``code`` with; KeyError for a code it has no record of
    (it never invents one)."""
    return ERRORS[code].status
