"""The ICE contract as a table: error codes (:mod:`.codes`) and the documented behaviours that are
not codes, each with its source, the emulator's answer, the client's rule and the test that proves
it. :func:`render_tables` writes it into the docs when they are built (docs/contract.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_ice.client.codes import (
    CLIENT_ACTION,
    ERRORS,
    GATEWAY_TEST,
    REQUEST_LINE_LIMIT,
    Kind,
    Source,
)


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


def render_tables() -> str:
    """The contract as Markdown (the docs' contract page): one table of error codes, one of behaviours."""
    lines = [
        "| code(s) | HTTP | source | client | emulator | test |",
        "|---|---|---|---|---|---|",
    ]
    for rule in ERRORS:
        codes = ", ".join(f"`{c}`" for c in rule.codes)
        lines.append(
            f"| {codes} | {rule.status} | {_source(rule.source, rule.assumed)} | {rule.kind.value}: "
            f"{CLIENT_ACTION[rule.kind]} | {rule.emulator} | `{rule.test}` |"
        )
    lines.append(
        f"| any other code with HTTP 5xx / 429 / 414 / other 4xx | | undocumented | by status: "
        f"{Kind.UNAVAILABLE.value} / {Kind.THROTTLED.value} / {Kind.TOO_LONG.value} / {Kind.PERMANENT.value} | "
        "inject('non_json', status=...) | `test_contract.py::test_unknown_codes_are_classified_by_status` |"
    )
    lines += ["", "| behaviour | ICE documents | source | emulator | client | test |", "|---|---|---|---|---|---|"]
    for b in BEHAVIOURS:
        lines.append(f"| {b.what} | {b.documented} | {_source(b.source)} | {b.emulator} | {b.client} | `{b.test}` |")
    return "\n".join(lines) + "\n"
