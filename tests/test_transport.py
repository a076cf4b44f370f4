"""The async transport: one keep-alive pool per connection and loop, credentials fetched per request."""

from __future__ import annotations

import asyncio

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.provider.static_ak import StaticAKCredentialsProvider
from alibabacloud_credentials_api import ICredentialsProvider

from airflow_provider_ice.client import async_sender as transport
from airflow_provider_ice.hooks.ice import IceHook


async def test_hooks_of_one_connection_share_one_pool_until_the_last_closes(ice_emulator, ice_connection):
    ice_emulator.backend.add_workflow("wf", running_polls=10**9)
    task_id = ice_emulator.backend.add_task("wf")
    loop = asyncio.get_running_loop()
    hooks = [IceHook() for _ in range(3)]
    await asyncio.gather(*(h.aget_workflow_task(task_id) for h in hooks))
    pools = transport._SESSIONS[loop]
    assert len(pools) == 1
    (shared,) = pools.values()
    assert shared.users == 3
    session = shared.session
    await hooks[0].aclose()
    await hooks[1].aclose()
    assert not session.closed and shared.users == 1
    await hooks[2].aclose()
    assert session.closed
    assert transport._SESSIONS[loop] == {}


class RotatingProvider(ICredentialsProvider):
    """Hands out key pair A, then (once A "expires") key pair B, as an STS/RAM-role provider would."""

    def __init__(self, pairs: list[tuple[str, str]], switch_after: int) -> None:
        self.pairs, self.switch_after, self.calls = pairs, switch_after, 0

    def get_credentials(self):
        self.calls += 1
        ak, sk = self.pairs[0 if self.calls <= self.switch_after else 1]
        return StaticAKCredentialsProvider(access_key_id=ak, access_key_secret=sk).get_credentials()

    async def get_credentials_async(self):
        return self.get_credentials()

    def get_provider_name(self) -> str:
        return "rotating"


async def test_refreshed_credentials_are_used_without_dropping_polls(ice_emulator, ice_connection):
    first = ice_emulator.access_key_id
    ice_emulator.access_keys["LTAIsecondKey"] = "second-secret"
    ice_emulator.backend.add_workflow("wf", running_polls=6)
    task_id = ice_emulator.backend.add_task("wf")
    provider = RotatingProvider([(first, ice_emulator.access_key_secret), ("LTAIsecondKey", "second-secret")], 3)
    hook = IceHook()
    hook._credential = CredentialClient(provider=provider)
    revoked = None
    try:
        async with hook:
            task = await hook.aget_workflow_task(task_id)
            while not task.is_terminal:
                if provider.calls == 3 and revoked is None:  # the first key expires mid-wait
                    revoked = ice_emulator.access_keys.pop(first)
                task = await hook.aget_workflow_task(task_id)
    finally:
        if revoked is not None:
            ice_emulator.access_keys[first] = revoked
        del ice_emulator.access_keys["LTAIsecondKey"]
    assert revoked is not None
    assert task.status == "succeeded"
    assert provider.calls == 7  # one credential fetch per request
    assert ice_emulator.backend.calls("GetAIWorkflowTask", task_id) == 7  # and not one request failed


LOADS_OFF_THE_LOOP = """
import asyncio, importlib.abc, os, sys, threading
from airflow_provider_ice.hooks.ice import IceHook

WATCHED = (
    "aiohttp",
    "airflow_provider_ice.client.async_sender",
    "alibabacloud_credentials.client",
    "alibabacloud_tea_openapi.utils",  # the SDK's signer
)
# A module imported before the watcher is never seen by it: then this test would prove nothing.
already = [name for name in WATCHED if name in sys.modules]
assert not already, f"imported with the hook, before the watcher: {already}"
seen = {}

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in WATCHED:
            seen.setdefault(name, threading.current_thread() is threading.main_thread())
        return None

sys.meta_path.insert(0, Watch())

async def main():
    async with IceHook() as hook:
        await hook.aget_workflow_task(sys.argv[1])

asyncio.run(main())
print(seen)
assert set(seen) == set(WATCHED), f"not loaded by the first call: {set(WATCHED) - set(seen)}"
assert not any(seen.values()), f"loaded on the event loop's thread: {seen}"
"""


def test_the_first_async_call_loads_the_client_stack_off_the_event_loop(ice_emulator, ice_connection):
    """Importing aiohttp, the SDK's signer and the credentials client takes ~0.7 s: on a triggerer's
    event loop that would stall every trigger. A fresh process, as a triggerer starts."""
    import subprocess
    import sys

    ice_emulator.backend.add_workflow("wf")
    task_id = ice_emulator.backend.add_task("wf")
    run = subprocess.run(  # the environment carries ice_connection's AIRFLOW_CONN_ICE_DEFAULT
        [sys.executable, "-c", LOADS_OFF_THE_LOOP, task_id], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


async def test_a_fixed_access_key_is_fetched_from_its_credentials_client_at_most_once(
    ice_emulator, ice_connection, monkeypatch
):
    from airflow_provider_ice.client.credentials import shared_credential

    ice_emulator.backend.add_workflow("wf", running_polls=10**6)
    task_id = ice_emulator.backend.add_task("wf")
    async with IceHook() as hook:
        credential = shared_credential(await hook.aget_connection_config())
        fetched = []
        fetch = credential.get_credential_async

        async def counting() -> object:
            fetched.append(1)
            return await fetch()

        monkeypatch.setattr(credential, "get_credential_async", counting)
        for _ in range(3):
            assert (await hook.aget_workflow_task(task_id)).status == "running"
    assert len(fetched) <= 1  # an AccessKey never changes: its model is kept (a refreshing one: the test above)
