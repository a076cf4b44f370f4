"""Each credential_type is wired to the matching alibabacloud-credentials provider."""

from __future__ import annotations

import json
import threading

import pytest

from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.testing.emulator import IceEmulator
from tests.helpers import call, use_connection


def provider_of(hook: IceHook):
    config = hook.get_connection_config()
    return hook._get_credential(config).cloud_credential.provider


@pytest.fixture
def sts_emulator():
    keys = {"STS.tempkey": {"secret": "temp-secret", "security_token": "sts-token-123"}}
    with IceEmulator(access_keys=keys) as emulator:
        emulator.backend.add_workflow("wf", running_polls=100)
        emulator.backend.add_task("wf", task_id="t")
        yield emulator


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_sts_sends_the_security_token(sts_emulator, monkeypatch, mode):
    use_connection(monkeypatch, sts_emulator, credential_type="sts", security_token="sts-token-123")
    assert type(provider_of(IceHook())).__name__ == "StaticSTSCredentialsProvider"
    assert call(mode, "get_workflow_task", "t").status == "running"
    use_connection(monkeypatch, sts_emulator, credential_type="sts", security_token="expired-token")
    with pytest.raises(IceApiError, match="InvalidSecurityToken"):
        call(mode, "get_workflow_task", "t")


def test_access_key(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator)
    provider = provider_of(IceHook())
    assert type(provider).__name__ == "StaticAKCredentialsProvider"
    assert provider.get_credentials().get_access_key_id() == ice_emulator.access_key_id


def test_ram_role_arn(ice_emulator, monkeypatch):
    use_connection(
        monkeypatch,
        ice_emulator,
        credential_type="ram_role_arn",
        role_arn="acs:ram::123:role/ice",
        role_session_name="airflow",
    )
    provider = provider_of(IceHook())
    assert type(provider).__name__ == "RamRoleArnCredentialsProvider"
    assert provider._role_arn == "acs:ram::123:role/ice"
    assert provider._role_session_name == "airflow"
    assert type(provider._credentials_provider).__name__ == "StaticAKCredentialsProvider"


def test_ecs_ram_role(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator, login="", password="", credential_type="ecs_ram_role", role_name="ice")
    provider = provider_of(IceHook())
    assert type(provider).__name__ == "EcsRamRoleCredentialsProvider"
    assert provider._role_name == "ice"


def test_oidc_role_arn(ice_emulator, monkeypatch, tmp_path):
    token = tmp_path / "token"
    token.write_text("oidc-token")
    use_connection(
        monkeypatch,
        ice_emulator,
        login="",
        password="",
        credential_type="oidc_role_arn",
        role_arn="acs:ram::123:role/ice",
        oidc_provider_arn="acs:ram::123:oidc-provider/k8s",
        oidc_token_file_path=str(token),
    )
    provider = provider_of(IceHook())
    assert type(provider).__name__ == "OIDCRoleArnCredentialsProvider"
    assert (provider._role_arn, provider._oidc_provider_arn, provider._oidc_token_file_path) == (
        "acs:ram::123:role/ice",
        "acs:ram::123:oidc-provider/k8s",
        str(token),
    )


def test_default_chain_when_no_keys(ice_emulator, monkeypatch):
    conn = json.loads(ice_emulator.connection_uri())
    del conn["login"], conn["password"]
    monkeypatch.setenv("AIRFLOW_CONN_ICE_DEFAULT", json.dumps(conn))
    hook = IceHook()
    assert hook.get_connection_config().credential_type == "default"
    assert type(provider_of(hook)).__name__ == "DefaultCredentialsProvider"


NO_CREDENTIALS_ANYWHERE = """
import asyncio, json, logging, sys
from airflow_provider_ice.exceptions import IceApiError
from airflow_provider_ice.hooks.ice import IceHook

logging.basicConfig(level=logging.INFO)  # a task log shows every logger's records

async def acall(hook):
    async with hook:
        return await hook.aget_workflow_task("t")

for mode in ("sync", "async"):
    try:
        IceHook().get_workflow_task("t") if mode == "sync" else asyncio.run(acall(IceHook()))
    except IceApiError as exc:
        print(f"ERROR {mode}: {exc}")
"""


def test_no_credentials_anywhere_is_one_short_message_with_the_fix_and_no_sdk_traceback(ice_emulator, tmp_path):
    """The default chain finds nothing: its providers fail one by one, and the credentials URI one
    (refused, on 127.0.0.1) logs a traceback in the SDK; the ECS metadata service is switched off (it
    is not on this machine). A process of its own: the credentials package reads the environment at
    import."""
    import os
    import subprocess
    import sys

    conn = {"conn_type": "alibaba_cloud_ice", "extra": ice_emulator.connection_extras(credential_type="default")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD", "ALICLOUD"))}
    env.update(
        HOME=str(tmp_path),  # no ~/.aliyun/config.json, no ~/.alibabacloud/credentials.ini
        AIRFLOW_CONN_ICE_DEFAULT=json.dumps(conn),
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
        ALIBABA_CLOUD_CREDENTIALS_URI="http://127.0.0.1:9/credentials",
    )
    run = subprocess.run(
        [sys.executable, "-c", NO_CREDENTIALS_ANYWHERE], env=env, capture_output=True, text=True, timeout=120
    )
    output = run.stdout + run.stderr
    errors = [line for line in run.stdout.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 2, output[-3000:]
    for line in errors:
        assert (
            "no credentials: the connection has no AccessKey, and Credential type (credential_type) 'default'" in line
        )
        assert "ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET" in line and "ALIBABA_CLOUD_CREDENTIALS_URI" in line
        assert line.endswith(
            "— set the AccessKey ID (login) and AccessKey Secret (password), or give the workers and triggerers "
            "one of those credentials; in connection 'ice_default'"
        ), line
    assert "Traceback" not in output, output[-3000:]
    assert ice_emulator.backend.calls() == 0


def test_looking_for_a_built_client_never_waits_for_one_being_built(monkeypatch):
    """The event loop asks for a connection's credentials client (a trigger's first poll) while a
    thread may be building one, of that connection or another: the answer must not wait for that
    build (slow imports; a credential chain may read files or ask the ECS metadata service, seconds
    with its timeouts)."""
    from airflow_provider_ice.client import credentials
    from airflow_provider_ice.client.config import build_connection_config

    built = build_connection_config("built", "key-a", "secret", {"region_id": "cn-shanghai"})
    slow = build_connection_config("slow", "key-b", "secret", {"region_id": "cn-shanghai"})
    building, release, looked = threading.Event(), threading.Event(), threading.Event()

    def build(config):
        if config is slow:
            building.set()
            release.wait(10)
        return object()

    monkeypatch.setattr(credentials, "_CREDENTIALS", {})
    monkeypatch.setattr(credentials, "_new_credential", build)
    client = credentials.shared_credential(built)
    builder = threading.Thread(target=credentials.shared_credential, args=(slow,))
    builder.start()
    found: list[object] = []

    def look() -> None:
        found.extend([credentials.cached_credential(slow), credentials.shared_credential(built)])
        looked.set()

    try:
        assert building.wait(10)
        threading.Thread(target=look).start()
        assert looked.wait(5), "a lookup waited for the client being built"
    finally:
        release.set()
        builder.join(10)
    assert found == [None, client]
    assert credentials.cached_credential(slow) is not None
