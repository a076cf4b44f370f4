"""The hook as the docs show it (docs/hook.md includes it; tests/test_docs.py runs it against the emulator)."""

from __future__ import annotations

import asyncio
from typing import Any


def sync_calls() -> dict[str, Any]:
    # [START howto_hook_sync]
    from airflow_provider_ice.hooks.ice import IceHook

    hook = IceHook(ice_conn_id="ice_default")
    task_id = hook.start_ai_workflow(
        "wf-subtitles",
        inputs={"video": "oss://bucket/in.mp4"},  # JSON-encoded; a JSON string passes as is
        user_data="airflow-run-42",  # any string: how to find the task in ICE
    )
    task = hook.get_workflow_task(task_id)  # an IceWorkflowTask record
    print(task.status, task.is_terminal, task.outputs, task.node_results)
    # [END howto_hook_sync]
    return {"task_id": task_id, "status": task.status}


async def async_calls(task_id: str) -> str:
    # [START howto_hook_async]
    from airflow_provider_ice.hooks.ice import IceHook

    async with IceHook(ice_conn_id="ice_default") as hook:  # releases its share of the shared session
        task = await hook.aget_workflow_task(task_id)
    # [END howto_hook_async]
    return task.status


def errors(task_id: str) -> list[str]:
    # [START howto_hook_errors]
    from airflow_provider_ice.exceptions import IceApiError, IceServiceError
    from airflow_provider_ice.hooks.ice import IceHook

    hook = IceHook()
    seen = []
    try:
        hook.stop_ai_workflow_task(task_id)  # an offline task: ICE refuses to stop it
    except IceServiceError as exc:  # ICE answered with an error code
        seen.append(f"{exc.code} (HTTP {exc.http_status}): {exc.hint}")
    except IceApiError as exc:  # no usable answer (network, proxy, timeout)
        seen.append(f"{exc.code}, may have run: {exc.may_have_run}")
    # [END howto_hook_errors]
    return seen


def job_kinds() -> tuple[str, str]:
    # [START howto_hook_job_kinds]
    import json

    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.kinds import MEDIA_CONVERT

    hook = IceHook()
    config = {"Inputs": [{"Name": "in", "InputFile": {"Type": "OSS", "Media": "oss://bucket/in.mp4"}}]}
    job_id = hook.submit_job(MEDIA_CONVERT, {"Config": json.dumps(config)})  # a ClientToken is added
    job = hook.get_job(MEDIA_CONVERT, job_id)  # an IceJob record
    print(job.status, job.is_terminal, job.xcom_values())  # what a sensor would push to XCom
    # [END howto_hook_job_kinds]
    return job_id, job.status


def run_all() -> tuple[dict[str, Any], str, list[str]]:
    started = sync_calls()
    return started, asyncio.run(async_calls(started["task_id"])), errors(started["task_id"])
