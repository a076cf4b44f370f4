"""One poll's client CPU by component, for the floor row of ``make bench``: where ours spends what
the bare aiohttp floor does not.

Each component is timed alone, in this process, over sequential calls against the emulator over TLS
(median of ``--calls``): the whole ``hook.aget_workflow_task``; sending a pre-signed request
through a bare aiohttp session (the floor's work); the credential fetch; the rate limiter's
bookkeeping; signing (``build_request``: the SDK's V3 signer); reading the answer (JSON and the
error check) and building the record; the waiting rules (``Wait.step``, logging off); the trigger's
log line (Airflow's logging, as the triggerer writes it); and the aiohttp sender's own layer
(ours minus the rest). Garbage collection is measured in the fleets (benchmarks/fleet.py).

    python benchmarks/poll_profile.py [--calls 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine, median, table


def _sync(fn: Callable[[], Any], n: int) -> float:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(n):
        c0 = time.process_time_ns()
        fn()
        samples.append((time.process_time_ns() - c0) / 1000)
    return median(samples)


async def _async(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    for _ in range(10):
        await fn()
    samples = []
    for _ in range(n):
        c0 = time.process_time_ns()
        await fn()
        samples.append((time.process_time_ns() - c0) / 1000)
    return median(samples)


async def profile(n: int) -> dict[str, float]:
    import aiohttp
    from alibabacloud_credentials.models import CredentialModel

    from airflow_provider_ice.client.errors import read_answer
    from airflow_provider_ice.client.network import ssl_context
    from airflow_provider_ice.client.request import _limiter, build_request
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.models import task_from_answer
    from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
    from airflow_provider_ice.waiting import Wait

    out: dict[str, float] = {}
    async with IceHook() as hook:
        out["whole"] = await _async(lambda: hook.aget_workflow_task("cpu"), n)
        config = await hook.aget_connection_config()
        credential = hook._get_credential(config)
        out["credentials"] = await _async(credential.get_credential_async, n)
        current = await credential.get_credential_async()
        limiter = _limiter(config, "GetAIWorkflowTask")

        def bookkeeping() -> None:
            limiter.delay(limiter.reserve())
            limiter.answered(False, limiter.now())

        out["limiter"] = _sync(bookkeeping, n)
        query = {"TaskId": "cpu"}
        out["signing"] = _sync(
            lambda: build_request(config.protocol, config.endpoint, "GetAIWorkflowTask", query, current), n
        )
        signed = build_request(
            config.protocol,
            config.endpoint,
            "GetAIWorkflowTask",
            query,
            CredentialModel(access_key_id=config.access_key_id, access_key_secret=config.access_key_secret),
        )
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context(config.verify))) as session:

            async def send() -> tuple[int, Any, bytes]:
                async with session.post(signed.url, headers=signed.headers) as response:
                    return response.status, response.headers, await response.read()

            out["floor"] = await _async(send, n)
            answer = await send()
        out["answer"] = _sync(lambda: task_from_answer(read_answer("GetAIWorkflowTask", *answer, signed.target)), n)
    record = task_from_answer(json.loads(answer[2]))
    quiet = logging.getLogger("poll_profile.quiet")
    quiet.disabled = True
    wait = Wait(
        "cpu",
        accept_partial_success=False,
        poll_interval=30.0,
        max_poll_interval=600.0,
        unreachable_timeout=3600.0,
        started_at=time.time(),
    )
    out["waiting"] = _sync(lambda: (wait.step(record, quiet), wait.next_sleep()), n)
    trigger = IceWorkflowTaskTrigger("cpu")
    out["log_line"] = _sync(lambda: trigger.log.info("ICE workflow task %s: %s (%ds elapsed)", "cpu", "running", 30), n)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args(argv)

    from airflow_provider_ice.testing.emulator import IceEmulatorProcess

    scenario = {
        "workflows": [{"workflow_id": "forever", "running_polls": 10**12}],
        "tasks": [{"workflow_id": "forever", "task_id": "cpu"}],
    }
    with IceEmulatorProcess(tls=True, scenario=scenario, check_nonce=False) as emulator:
        os.environ["AIRFLOW_CONN_ICE_DEFAULT"] = emulator.connection_uri()
        parts = asyncio.run(profile(args.calls))
    rest = ("credentials", "limiter", "signing", "floor", "answer")
    per_poll = parts["whole"] + parts["waiting"] + parts["log_line"]
    rows = [
        ("sending: a pre-signed request through bare aiohttp (the floor's work)", parts["floor"]),
        ("signing: build_request (the SDK's V3 signer)", parts["signing"]),
        ("credentials: alibabacloud-credentials' get_credential_async", parts["credentials"]),
        ("rate limiter bookkeeping (reserve, delay, answered)", parts["limiter"]),
        ("answer: JSON, error check, IceWorkflowTask", parts["answer"]),
        (
            "our sender and retry layer (the whole call minus the rows above)",
            parts["whole"] - sum(parts[k] for k in rest),
        ),
        ("waiting rules: Wait.step, next_sleep (logging off)", parts["waiting"]),
        ("the trigger's log line (Airflow's logging)", parts["log_line"]),
    ]
    print(f"machine: {machine()}")
    print(f"\nOne poll's client CPU by component ({args.calls} sequential calls each, median µs; GC: the fleets)")
    print(
        table(
            [(label, f"{us:.0f}", f"{us / per_poll:.0%}") for label, us in rows]
            + [("a poll, all of the above", f"{per_poll:.0f}", "100%")],
            ("component", "µs", "share"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
