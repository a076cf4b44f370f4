"""The emulator's protocol layer: ICE RPC over HTTP as the SDK speaks it.

Parses ``POST /`` requests (action in ``x-acs-action``, parameters in the query string or a form
body), passes them through the gateway's checks (:mod:`.gateway`: request line, version, V3
signature, date, nonce), hands the call to the backend, and answers Alibaba Cloud style: JSON
bodies with ``RequestId``, errors with ``RequestId``, ``HostId``, ``Code``, ``Message``,
``Recommend`` (and ``AccessDeniedDetail`` on RAM denials) and the documented HTTP statuses. Control
routes under ``/_emulator/`` let tests in another process script the backend.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from airflow_provider_ice.testing.emulator.backend import IceBackend
from airflow_provider_ice.testing.emulator.gateway import Gateway
from airflow_provider_ice.testing.emulator.jobs import JOB_ACTIONS
from airflow_provider_ice.testing.emulator.records import FAULT_KINDS, ApiError, EmulatedTask, Fault, FaultKind

BACKEND_KEY = web.AppKey("backend", IceBackend)
GATEWAY_KEY = web.AppKey("gateway", Gateway)
#: RAM's owner id of the emulated account (an AccessDeniedDetail field).
ACCOUNT_ID = "1234567890123456"


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def error_response(request: web.Request, error: ApiError, request_id: str) -> web.Response:
    """The gateway's error body: RequestId, HostId, Code, Message, Recommend (with the request id),
    and AccessDeniedDetail on a RAM denial."""
    body: dict[str, Any] = {
        "RequestId": request_id,
        "HostId": request.host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=ICE&requestId={request_id}",
    }
    if error.access_denied:
        body["AccessDeniedDetail"] = error.access_denied
    return _json(error.status, body, headers=error.headers)


def _html(status: int, title: str) -> web.Response:
    return web.Response(status=status, text=f"<html><body><h1>{title}</h1></body></html>", content_type="text/html")


# ---- faults: each kind of records.FAULT_KINDS and how the service (or what stands in front of it) answers


def _denial(action: str, principal: str) -> dict[str, Any]:
    return {
        "AuthAction": f"ice:{action}",
        "AuthPrincipalType": "SubUser",
        "AuthPrincipalOwnerId": ACCOUNT_ID,
        "AuthPrincipalDisplayName": principal,
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "NoPermissionType": "ImplicitDeny",
        "EncodedDiagnosticMessage": base64.b64encode(f"emulated denial of ice:{action}".encode()).decode(),
    }


_MESSAGES = {
    FaultKind.THROTTLING: "Request was denied due to user flow control.",
    FaultKind.THROTTLING_RETRY_AFTER: "Request was denied due to user flow control.",
    FaultKind.SERVER_ERROR: "The request processing has failed due to some unknown error.",
    FaultKind.UNAVAILABLE: "The request has failed due to a temporary failure of the server.",
    FaultKind.PERMISSION_DENIED: "You are not authorized to operate on the specified resource.",
    FaultKind.NOT_ACTIVATED: "Your account does not open ICE service yet.",
    FaultKind.SUSPENDED: "Your ICE service is suspended.",
}


async def _apply_fault(request: web.Request, fault: Fault, action: str, principal: str) -> web.StreamResponse | None:
    """Answer as the fault says; None means "carry on normally" (after a delay)."""
    if fault.kind is FaultKind.DELAY:
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind is FaultKind.DROP:
        # RST / EOF without a status line; the handler still returns normally (aiohttp writes
        # nothing to a closed transport).
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=204)
    if fault.kind is FaultKind.REDIRECT:
        return web.Response(status=302, headers={"Location": "https://ice-moved.example.com/"})
    if fault.kind is FaultKind.NON_JSON:
        return _html(fault.status or 502, f"{fault.status or 502} from a gateway")
    if fault.kind is FaultKind.REQUEST_TOO_LONG:
        return _html(414, "414 Request-URI Too Large")
    code = fault.code or FAULT_KINDS[fault.kind][0]
    retry_after = fault.kind is FaultKind.THROTTLING_RETRY_AFTER
    headers = {"x-acs-retry-after": str(fault.retry_after_ms)} if retry_after else {}
    message = _MESSAGES[fault.kind]
    denied = _denial(action, principal) if fault.kind is FaultKind.PERMISSION_DENIED else None
    raise ApiError(code, message, headers=headers, access_denied=denied, status=fault.status)


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
    done = task.finished is not None
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
                "Status": "Published",
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
    if action in JOB_ACTIONS:
        return backend.jobs.answer(action, params)
    raise ApiError("InvalidApi.NotFound", "Specified api is not found, please check your url and method.")


async def handle_rpc(request: web.Request) -> web.StreamResponse:
    backend, gateway = request.app[BACKEND_KEY], request.app[GATEWAY_KEY]
    request_id = str(uuid.uuid4()).upper()
    action = request.headers.get("x-acs-action", "")
    # The raw query: aiohttp's query_string is already percent-decoded once (a "%20" in a value would
    # be decoded twice), and the signature covers the values exactly as the client encoded them.
    query = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)
    params = dict(query)
    backend.record_call(action, params.get("TaskId") or params.get("JobId"))
    if gateway.request_line_too_long(request.method, request.raw_path):
        return _html(414, "414 Request-URI Too Large")  # the web server in front of the gateway
    body = await request.read()
    if body and request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    try:
        headers = {name.lower(): request.headers.getall(name) for name in set(request.headers.keys())}
        account, principal = gateway.authenticate(request.method, request.path, query, headers, body)
        refused = backend.flow_control.admit(account, action)
        if refused is not None:
            raise ApiError(refused, "Request was denied due to user flow control.")
        fault = backend.take_fault(action)
        if fault is not None:
            response = await _apply_fault(request, fault, action, principal)
            if response is not None:
                return response
        result = answer(backend, action, params)
    except ApiError as error:
        return error_response(request, error, request_id)
    return _json(200, {"RequestId": request_id, **result})


# ---- control routes (unsigned, loopback only) --------------------------------------------------


async def _control(request: web.Request) -> web.Response:
    backend = request.app[BACKEND_KEY]
    what = request.match_info["what"]
    payload = await request.json() if request.can_read_body else {}
    try:
        if what == "calls":
            return _json(200, {"calls": backend.calls_snapshot(), **backend.flow_control.snapshot()})
        if what == "tasks" and request.method == "GET":
            return _json(200, {"tasks": backend.tasks_snapshot()})
        if what == "flow_control":
            backend.flow_control.set(**payload)
            return _json(200, {})
        if what == "workflows" and request.method == "PATCH":
            return _json(200, asdict(backend.update_workflow(**payload)))
        if what == "workflows":
            return _json(200, asdict(backend.add_workflow(**payload)))
        if what == "tasks":
            return _json(200, {"task_id": backend.add_task(**payload)})
        if what == "jobs" and request.method == "GET":
            return _json(200, {"jobs": backend.jobs.snapshot()})
        if what == "jobs":
            return _json(200, {"job_id": backend.jobs.add(**payload)})
        if what == "job_plans":
            return _json(200, asdict(backend.jobs.plan(**payload)))
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


def make_app(backend: IceBackend, gateway: Gateway) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[BACKEND_KEY] = backend
    app[GATEWAY_KEY] = gateway
    app.router.add_route("*", "/_emulator/{what}", _control)
    app.router.add_post("/", handle_rpc)
    return app
