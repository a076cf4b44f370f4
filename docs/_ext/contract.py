"""The ICE contract as the docs show it (docs/contract.md, rendered when the docs are built): the
client's error rules (``airflow_provider_ice.client.codes``) beside the emulator's own record of
ICE's answers (``testing/emulator/errors.py``), and the documented behaviours that are not codes,
each with its source, how to make the emulator answer it, the client's rule and the test that proves
it (``tests/test_contract.py`` checks that every test named here exists). Docs only: nothing in the
package imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_ice.client.codes import ERRORS, Kind, Source
from airflow_provider_ice.testing.emulator import errors as emulator_errors

REQUEST_LINE_LIMIT = emulator_errors.REQUEST_LINE_LIMIT

#: What each kind does, in the table's words.
CLIENT_ACTION = {
    Kind.THROTTLED: "retried with backoff on every action, StartAIWorkflow included (a refusal proves nothing ran)",
    Kind.UNAVAILABLE: "Get and Stop retried; StartAIWorkflow sent once, its error says a task may exist",
    Kind.REPLAYED: "Get and Stop retried (signed afresh); StartAIWorkflow not sent again",
    Kind.PERMANENT: "one call",
    Kind.PERMISSION: "one call; names the denied action and the RAM identity, says to grant it",
    Kind.NOT_ACTIVATED: "one call; says ICE is not activated for the account",
    Kind.SUSPENDED: "one call; says the account is suspended (overdue payment)",
    Kind.CREDENTIALS: "one call; names the connection field to check",
    Kind.ENDPOINT: "one call; says to check Endpoint and Region ID",
    Kind.TOO_LONG: "one call; gives the encoded size of Inputs and UserData, says to pass large content as OSS objects",
}

_THROTTLE_TEST = "test_contract.py::test_throttling_is_retried_on_every_action"
_5XX_TEST = "test_contract.py::test_a_5xx_is_retried_for_reads_and_never_for_start"
_BAD_REQUEST_TEST = "test_contract.py::test_bad_requests_are_one_call"
_ACCOUNT_TEST = "test_contract.py::test_account_states_are_named"
_CREDENTIALS_TEST = "test_contract.py::test_credential_and_gateway_refusals_are_one_call"
#: Requests the client never sends (it signs every header, sends its version, calls three actions).
GATEWAY_TEST = "test_contract.py::test_the_gateway_refuses_what_the_signature_page_forbids"

#: A row's first code -> (how to make the emulator answer it, the test that proves the row on both paths).
PROOF: dict[str, tuple[str, str]] = {
    "Throttling": ("inject('throttling', code=...)", _THROTTLE_TEST),
    "RequestsTooFrequent": ("inject('throttling', code=...)", _THROTTLE_TEST),
    "ServiceUnAvailable": ("inject('unavailable')", _5XX_TEST),
    "InternalError": ("inject('server_error')", _5XX_TEST),
    "MissingParameter": ("a request without TaskId/WorkflowId", _BAD_REQUEST_TEST),
    "InvalidParameter": ("Inputs that are not JSON; StopAIWorkflowTask on an offline task", _BAD_REQUEST_TEST),
    "ResourceNotFound": ("an unknown TaskId or WorkflowId", _BAD_REQUEST_TEST),
    "OperationDenied.Suspended": ("inject('suspended')", _ACCOUNT_TEST),
    "OperationDenied": ("inject('not_activated')", _ACCOUNT_TEST),
    "Forbidden": (
        "inject('permission_denied', code=...)",
        "test_contract.py::test_a_permission_denial_names_the_action_and_identity",
    ),
    "InvalidAccessKeyId.NotFound": ("an AccessKey ID the emulator does not know", _CREDENTIALS_TEST),
    "SignatureDoesNotMatch": ("a wrong AccessKey Secret, or a request changed after signing", _CREDENTIALS_TEST),
    "IncompleteSignature": (
        "host or an x-acs-* header left out of SignedHeaders; no or a malformed Authorization",
        _CREDENTIALS_TEST,
    ),
    "InvalidSignatureMethod": ("an Authorization algorithm other than ACS3-HMAC-SHA256", _CREDENTIALS_TEST),
    "InvalidSecurityToken.*": ("an STS token that does not belong to the AccessKey", _CREDENTIALS_TEST),
    "InvalidTimeStamp.Expired": (
        "x-acs-date more than 15 minutes from the emulator's wall clock (or malformed: .Format)",
        _CREDENTIALS_TEST,
    ),
    "SignatureNonceUsed": (
        "a request whose x-acs-signature-nonce was seen in the last 15 minutes",
        "test_contract.py::test_a_replayed_nonce_is_refused_and_ours_never_are",
    ),
    "MissingVersion": ("no or another x-acs-version", GATEWAY_TEST),
    "InvalidApi.NotFound": ("an action the emulator does not serve", GATEWAY_TEST),
}


@dataclass(frozen=True)
class Behaviour:
    """A documented behaviour that is not an error code: what ICE documents, what the emulator does,
    what the client does, and the test that proves it."""

    what: str
    documented: str
    source: Source | None
    emulator: str
    client: str
    test: str


BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        "Task statuses",
        "running, stopped, failed, partial-succeeded, succeeded",
        Source.GET,
        "the five; a workflow's running_status may be any string, to test an undocumented one",
        "running polls on; the other four end the wait. Any other value, or none, is warned about once per "
        "task and value and polled on; a timeout names the last status seen",
        "test_contract.py::test_an_unknown_status_is_warned_about_and_polled_on",
    ),
    Behaviour(
        "UserData",
        "a string (custom metadata)",
        Source.START,
        "stores and returns it unchanged",
        "any string passes unchanged; a dict or list is JSON-encoded. Inputs must be JSON",
        "test_contract.py::test_user_data_is_any_string",
    ),
    Behaviour(
        "StopAIWorkflowTask",
        "stops real-time (live, RTC) tasks only; not offline ones",
        Source.STOP,
        "workflow type Live or RTC: stopped; any other type (default Offline): InvalidParameter (assumed code)",
        "a refusal says ICE stops only real-time tasks and that the task keeps running until it ends",
        "test_contract.py::test_a_refused_stop_says_the_task_keeps_running",
    ),
    Behaviour(
        "Request line too long",
        "every parameter travels in the URL (the SDK's choice); the gateway's limit is not published",
        None,
        f"a request line over max_request_line (default {REQUEST_LINE_LIMIT} bytes): HTTP 414 with an HTML page",
        "a 414, or a non-JSON 4xx to a request line over 8 KB, is one call: the error gives the encoded size of "
        "Inputs and UserData and says to pass large content as OSS objects",
        "test_contract.py::test_a_request_line_too_long_is_one_call_naming_inputs",
    ),
    Behaviour(
        "x-acs-date and nonce",
        "x-acs-date within 15 minutes of the server's clock; a nonce is not reused within 15 minutes",
        Source.GATEWAY_ERRORS,
        "checked against the wall clock (check_date / check_nonce, on by default)",
        "every attempt is signed afresh: a new date and nonce",
        "test_contract.py::test_a_replayed_nonce_is_refused_and_ours_never_are",
    ),
    Behaviour(
        "Signed headers",
        "host and every x-acs-* header present must be signed; x-acs-version is required",
        Source.V3_SIGNATURE,
        "IncompleteSignature / MissingVersion",
        "the SDK's signer signs them all",
        GATEWAY_TEST,
    ),
    Behaviour(
        "Error body",
        "RequestId, HostId, Code, Message, Recommend; AccessDeniedDetail on RAM denials",
        Source.RAM_DENIED,
        "the same fields; Recommend carries the request id",
        "code, message, RequestId and the denial detail reach the error",
        "test_contract.py::test_a_permission_denial_names_the_action_and_identity",
    ),
    Behaviour(
        "Workflow record",
        "Workflow.Status Draft, Published or Editing; Workflow.Type the scenario (e.g. Live)",
        Source.GET,
        "Status Published; Type as the template says (default Offline, an assumed name)",
        "kept in the task record's workflow",
        "test_emulator.py::test_the_workflow_record_is_as_documented",
    ),
)


def _source(source: Source | None, assumed: str = "") -> str:
    text = source.value if source else "undocumented"
    return f"{text}; assumed: {assumed}" if assumed else text


def _emulated(codes: tuple[str, ...]) -> str:
    """The emulator's own record of ``codes``: each code it answers with the status it answers."""
    prefixes = tuple(c[:-1] for c in codes if c.endswith("*"))
    known = [c for c in emulator_errors.ERRORS if c in codes or c.startswith(prefixes)]
    return "; ".join(f"`{c}` {emulator_errors.ERRORS[c].status}" for c in known) or "not answered"


def render_tables() -> str:
    """The contract as Markdown (the docs' contract page): one table of error codes, one of behaviours."""
    lines = [
        "| code(s) | HTTP | source | client | emulator answers | emulator | test |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in ERRORS:
        codes = ", ".join(f"`{c}`" for c in rule.codes)
        emulator, test = PROOF[rule.codes[0]]
        lines.append(
            f"| {codes} | {rule.status} | {_source(rule.source, rule.assumed)} | {rule.kind.value}: "
            f"{CLIENT_ACTION[rule.kind]} | {_emulated(rule.codes)} | {emulator} | `{test}` |"
        )
    lines.append(
        f"| any other code with HTTP 5xx / 429 / 414 / other 4xx | | undocumented | by status: "
        f"{Kind.UNAVAILABLE.value} / {Kind.THROTTLED.value} / {Kind.TOO_LONG.value} / {Kind.PERMANENT.value} | | "
        "inject('non_json', status=...) | `test_contract.py::test_unknown_codes_are_classified_by_status` |"
    )
    lines += ["", "| behaviour | ICE documents | source | emulator | client | test |", "|---|---|---|---|---|---|"]
    for b in BEHAVIOURS:
        lines.append(f"| {b.what} | {b.documented} | {_source(b.source)} | {b.emulator} | {b.client} | `{b.test}` |")
    return "\n".join(lines) + "\n"
