"""A submit's parameters as the submitting operators build them: checked at DAG parse, then each
encoded as ICE takes it (JSON-typed ones JSON-encoded, ``UserData`` any string) with the ones not
given left out."""

from __future__ import annotations

from typing import Any

from airflow_provider_ice.exceptions import IceArgumentError
from airflow_provider_ice.params import check_literal_json, encode_json_param, require_client_token

#: One parameter: (ICE's name, the value, how to encode it: ``json``, ``text`` or None for a plain string).
Param = tuple[str, Any, str | None]


def query_of(*params: Param, fields: dict[str, str] | None = None) -> dict[str, str]:
    """A submit's parameters from ``params``: None and empty values left out, JSON ones checked and
    encoded (an error names the operator's parameter: ICE's name in snake case, or as ``fields``
    maps it)."""
    query: dict[str, str] = {}
    for name, value, encoding in params:
        field = (fields or {}).get(name) or snake(name)
        if encoding == "json":
            value = encode_json_param(field, value)
        elif encoding == "text":
            value = encode_json_param(field, value, any_string=True)
        if value not in (None, ""):
            query[name] = str(value)
    return query


def client_token_param(client_token: str | None) -> Param:
    """``ClientToken`` checked (at most 64 ASCII characters); None leaves it to the operator's default."""
    return ("ClientToken", None if client_token is None else require_client_token(client_token), None)


def check_json(operator: Any, *names: str) -> None:
    """At DAG parse: the named JSON parameters of ``operator``, and its ``user_data`` (any string),
    can be sent."""
    for name in names:
        check_literal_json(operator.task_id, name, getattr(operator, name))
    check_literal_json(operator.task_id, "user_data", getattr(operator, "user_data", None), any_string=True)


def require_given(operator: Any, *names: str) -> None:
    """At run time: each named parameter rendered to something (an error names it)."""
    for name in names:
        if getattr(operator, name) in (None, "", "None"):
            raise IceArgumentError(f"Task {operator.task_id!r}: {name} rendered to nothing; it is required.")


def snake(name: str) -> str:
    """An ICE parameter's name as the operator's (``ClipsParam`` -> ``clips_param``)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
