"""The emulator's protocol layer: ICE RPC over HTTP as the SDK speaks it.

Parses ``POST /`` requests (action in ``x-acs-action``, parameters in the query string or a form
body), verifies V3 signatures against the configured key pairs, hands the call to the backend, and
answers Alibaba Cloud style: JSON bodies with ``RequestId``, errors with ``RequestId``, ``HostId``,
``Code``, ``Message``, ``Recommend`` and the service's HTTP statuses. Control routes under
``/_emulator/`` let tests in another process script the backend.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from airflow_provider_ice.testing.emulator import signature
from airflow_provider_ice.testing.emulator.backend import RUNNING, ApiError, EmulatedTask, Fault, IceBackend

API_VERSION = "2020-11-09"
BACKEND_KEY = web.AppKey("backend", IceBackend)
KEYS_KEY = web.AppKey("access_keys", dict)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def error_response(request: web.Request, error: ApiError | signature.SignatureError, request_id: str) -> web.Response:
    return _json(
        error.status,
        {
            "RequestId": request_id,
            "HostId": request.host,
            "Code": error.code,
            "Message": error.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=ICE",
        },
        headers=error.headers if isinstance(error, ApiError) else None,
    )


# ---- faults: each kind and how the service (or what stands in front of it) answers ------------

#: kind -> (Code, HTTP status, extra headers) for the faults answered as Alibaba Cloud errors
_ERROR_FAULTS = {
    "throttling": ("Throttling.User", 400, False),
    "throttling_retry_after": ("Throttling.User", 400, True),
    "server_error": ("InternalError", 500, False),
    "unavailable": ("ServiceUnavailable", 503, False),
}
FAULT_KINDS = frozenset({*_ERROR_FAULTS, "drop", "delay", "non_json", "redirect"})


async def _apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse | None:
    """Answer as the fault says; None means "carry on normally" (after a delay)."""
    if fault.kind == "delay":
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind == "drop":
        assert request.transport is not None
        request.transport.abort()  # RST / EOF without a status line
        raise asyncio.CancelledError
    if fault.kind == "redirect":
        return web.Response(status=302, headers={"Location": "https://ice-moved.example.com/"})
    if fault.kind == "non_json":
        page = f"<html><body>{fault.status} from a gateway</body></html>"
        return web.Response(status=fault.status, text=page, content_type="text/html")
    code, status, retry_after = _ERROR_FAULTS[fault.kind]
    headers = {"x-acs-retry-after": str(fault.retry_after_ms)} if retry_after else {}
    raise ApiError(status, code, f"Injected fault: {fault.kind}", headers)


# ---- answers ---------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_json_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def task_answer(task: EmulatedTask) -> dict[str, Any]:
    """GetAIWorkflowTask's body: JSON fields as strings (the schema), or as objects when the
    workflow asks for it (the documentation's sample response)."""
    wf = task.workflow
    done = task.status != RUNNING
    encode = (lambda v: v) if wf.fields_as_objects else _as_json_text
    return {
        "WorkflowTask": {
            "TaskId": task.task_id,
            "Status": task.status,
            "Inputs": _as_json_text(task.inputs),
            "Outputs": encode(wf.outputs) if done else "",
            "NodeResults": encode(wf.node_results) if done else "",
            "UserData": encode(task.user_data),
            "CreateTime": _iso(task.created),
            "FinishTime": _iso(task.finished) if task.finished else "",
            "Version": "1",
            "Workflow": {
                "WorkflowId": wf.workflow_id,
                "Name": wf.name,
                "Status": "Active",
                "Type": wf.type,
                "Version": "1",
                "Graph": _as_json_text(wf.graph),
                "CreateTime": _iso(task.created),
                "ModifiedTime": _iso(task.created),
            },
        }
    }


def answer(backend: IceBackend, action: str, params: dict[str, str]) -> dict[str, Any]:
    """Run ``action`` on the backend and format its answer (ApiError for a refusal)."""
    if action == "StartAIWorkflow":
        return {"TaskId": backend.start(params).task_id}
    if action == "GetAIWorkflowTask":
        return task_answer(backend.get(params))
    if action == "StopAIWorkflowTask":
        return {"TaskId": backend.stop(params).task_id}
    raise ApiError(404, "InvalidAction.NotFound", f"Specified api {action!r} is not found.")


async def handle_rpc(request: web.Request) -> web.StreamResponse:
    backend = request.app[BACKEND_KEY]
    request_id = str(uuid.uuid4()).upper()
    body = await request.read()
    # The raw query: aiohttp's query_string is already percent-decoded once (a "%20" in a value would
    # be decoded twice), and the signature covers the values exactly as the client encoded them.
    query = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)
    params = dict(query)
    if body and request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    action = request.headers.get("x-acs-action") or params.get("Action", "")
    backend.record_call(action, params.get("TaskId"))
    try:
        if request.headers.get("x-acs-version", API_VERSION) != API_VERSION:
            raise ApiError(400, "InvalidVersion", f"Specified parameter Version is not valid: {API_VERSION} expected.")
        _authenticate(request, query, body)
        fault = backend.take_fault(action)
        if fault is not None:
            response = await _apply_fault(request, fault)
            if response is not None:
                return response
        result = answer(backend, action, params)
    except (ApiError, signature.SignatureError) as error:
        return error_response(request, error, request_id)
    return _json(200, {"RequestId": request_id, **result})


def _authenticate(request: web.Request, query: list[tuple[str, str]], body: bytes) -> None:
    auth = signature.parse_authorization(request.headers.get("Authorization"))
    keys = request.app[KEYS_KEY]
    entry = keys.get(auth.access_key_id)
    if entry is None:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    secret, token = (entry, None) if isinstance(entry, str) else (entry["secret"], entry.get("security_token"))
    if token is not None and request.headers.get("x-acs-security-token") != token:
        raise ApiError(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken is not valid.")
    headers = {name.lower(): request.headers.getall(name) for name in set(request.headers.keys())}
    signature.verify(auth, secret, request.method, request.path, query, headers, body)


# ---- control routes (unsigned, loopback only) --------------------------------------------------


async def _control(request: web.Request) -> web.Response:
    backend = request.app[BACKEND_KEY]
    what = request.match_info["what"]
    payload = await request.json() if request.can_read_body else {}
    try:
        if what == "calls":
            return _json(200, {"calls": backend.calls_snapshot()})
        if what == "workflows" and request.method == "PATCH":
            return _json(200, asdict(backend.update_workflow(**payload)))
        if what == "workflows":
            return _json(200, asdict(backend.add_workflow(**payload)))
        if what == "tasks":
            return _json(200, {"task_id": backend.add_task(**payload)})
        if what == "faults" and request.method == "DELETE":
            backend.clear_faults()
            return _json(200, {})
        if what == "faults":
            backend.inject(**payload)
            return _json(200, {})
        if what == "reset":
            backend.reset()
            return _json(200, {})
    except (TypeError, ValueError, KeyError) as exc:
        return _json(400, {"Code": "InvalidControlRequest", "Message": str(exc)})
    return _json(404, {"Code": "NotFound", "Message": what})


def make_app(backend: IceBackend, access_keys: dict[str, Any]) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[BACKEND_KEY] = backend
    app[KEYS_KEY] = access_keys
    app.router.add_route("*", "/_emulator/{what}", _control)
    app.router.add_post("/", handle_rpc)
    return app
