"""Checks of call arguments, made before any API call: each failure names the parameter and the fix,
and is an :class:`~airflow_provider_ice.exceptions.IceArgumentError` (no Airflow retries)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from airflow_provider_ice.exceptions import IceArgumentError

# Whitespace or control characters inside an id: a template that rendered two values, a stray newline.
_BAD_ID_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


#: What each id parameter is, by a word of its name (the first that matches).
_WHAT = (
    ("client_token", "a ClientToken unique per job (at most 64 ASCII characters)"),
    ("task", "the ICE TaskId (e.g. the StartAIWorkflow result)"),
    ("job", "the ICE JobId (e.g. the submitting operator's job_id XCom)"),
    ("project", "the ICE editing project id"),
    ("template", "the ICE template id"),
)

#: What a template renders to when it pulled nothing: Jinja writes None as "None".
_NOTHING = ("", "None")


def require_id(name: str, value: Any, template: str | None = None) -> str:
    """An ICE id (TaskId, WorkflowId): a non-empty string without whitespace or control characters
    inside it (surrounding whitespace is trimmed). None, an empty string and ``"None"`` (what a
    template renders when it pulled nothing) fail naming ``template`` (the unrendered field) if
    given, and the likely cause."""
    what = next((text for key, text in _WHAT if key in name), "the workflow template id")
    if value is None or (isinstance(value, str) and value.strip() in _NOTHING):
        source = f" (rendered from {template!r})" if template else ""
        raise IceArgumentError(
            f"{name} is {value!r}{source}: it rendered to nothing, most likely an xcom_pull that found no value "
            f"(check its task_ids and key, and that the upstream task ran and pushed it). Give {what}."
        )
    if not isinstance(value, str):
        raise IceArgumentError(f"{name} is {value!r} (after rendering): give {what}.")
    text = value.strip()
    if _BAD_ID_CHARS.search(text):
        raise IceArgumentError(
            f"{name} is {value!r}, which has whitespace or control characters inside it: give {what} alone."
        )
    return text


def template_of(value: Any) -> str | None:
    """What ``value`` renders from, kept from ``__init__`` before Airflow renders it in place: a Jinja
    template, or an upstream task's output (an ``XComArg``, which writes itself as its xcom_pull)."""
    if isinstance(value, str):
        return value if "{{" in value or "{%" in value else None
    if any(cls.__name__ == "XComArg" for cls in type(value).__mro__):
        return str(value)
    return None


def encode_json_param(name: str, value: Any, *, any_string: bool = False) -> str | None:
    """``inputs`` (documented as JSON) and ``user_data`` (documented as a string, ``any_string``): a
    dict or list is JSON-encoded; a string passes as is (for ``inputs`` only if it is valid JSON);
    None is omitted."""
    if value is None:
        return None
    if isinstance(value, str) and any_string:
        return value
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise IceArgumentError(
                f"{name} is a string that is not valid JSON ({exc}): pass a dict or list, or a JSON string."
            ) from None
        return value
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise IceArgumentError(f"{name} must be JSON-serialisable: {exc}.") from None
    what = "a string" if any_string else "a JSON string"
    raise IceArgumentError(f"{name} must be a dict, a list or {what}, got {type(value).__name__}.")


def require_positive(name: str, value: float | timedelta | None, *, allow_none: bool = False) -> None:
    """A positive number of seconds (or a timedelta); None only where ``allow_none``."""
    if value is None and allow_none:
        return
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        raise IceArgumentError(f"{name} must be a positive number of seconds, got {value!r}.")


def start_query(workflow_id: str, inputs: Any, user_data: Any, dispatch_tag: str | None) -> dict[str, str]:
    """StartAIWorkflow's parameters, checked and encoded before any call."""
    query = {"WorkflowId": require_id("workflow_id", workflow_id)}
    for key, value in (
        ("Inputs", encode_json_param("inputs", inputs)),
        ("UserData", encode_json_param("user_data", user_data, any_string=True)),
        ("DispatchTag", dispatch_tag or None),
    ):
        if value is not None:
            query[key] = value
    return query


def check_literal_json(task_id: str, name: str, value: Any, *, any_string: bool = False) -> None:
    """At DAG parse: fail now, naming the task, for a literal ``inputs``/``user_data`` that can never
    be sent. Templated strings (``{{ ... }}``) and values from other tasks (XComArgs, anything with
    ``resolve``) are rendered at run time and checked then."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return

    def lazy(obj: Any) -> Any:
        if callable(getattr(obj, "resolve", None)):
            return None  # an XComArg: its value is known at run time only
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")

    try:
        if isinstance(value, (dict, list)):
            json.dumps(value, default=lazy)
            return
    except (TypeError, ValueError) as exc:
        raise IceArgumentError(f"Task {task_id!r}: {name} must be JSON-serialisable: {exc}.") from None
    if value is None or callable(getattr(value, "resolve", None)):
        return
    try:
        encode_json_param(name, value, any_string=any_string)
    except IceArgumentError as exc:
        raise IceArgumentError(f"Task {task_id!r}: {exc}") from None


def require_client_token(value: Any) -> str:
    """A ``client_token`` as ICE takes it: 1 to 64 ASCII characters without whitespace (ICE's
    ClientToken: "can contain only ASCII characters and cannot exceed 64 characters")."""
    text = require_id("client_token", value)
    if len(text) > 64 or not text.isascii():
        raise IceArgumentError(
            f"client_token is {text!r}: ICE takes at most 64 ASCII characters; give a shorter one, unique per job."
        )
    return text
