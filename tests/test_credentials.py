"""Each credential_type is wired to the matching alibabacloud-credentials provider."""

from __future__ import annotations

import json

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
