from __future__ import annotations

import pytest

from airflow_provider_ice.client.config import build_connection_config
from airflow_provider_ice.exceptions import IceConfigurationError

AK, SK = "LTAItestkey", "super-secret-value"


def build(extras, login=AK, password=SK, **kwargs):
    return build_connection_config("ice_test", login, password, extras, **kwargs)


def test_defaults_use_the_regional_endpoint_not_the_sdk_map():
    config = build({"region_id": "ap-southeast-1"})
    assert config.endpoint == "ice.ap-southeast-1.aliyuncs.com"
    assert (config.protocol, config.verify, config.credential_type) == ("https", True, "access_key")
    assert config.retry.max_attempts == 5


def test_hook_region_overrides_the_extra():
    assert build({"region_id": "cn-beijing"}, region_id="cn-hangzhou").endpoint == "ice.cn-hangzhou.aliyuncs.com"


def test_endpoint_override_and_numbers():
    config = build(
        {
            "region_id": "cn-shanghai",
            "endpoint": "ice-vpc.cn-shanghai.aliyuncs.com",
            "connect_timeout": "2",
            "read_timeout": 7,
            "max_attempts": "3",
            "verify": "false",
        }
    )
    assert config.endpoint == "ice-vpc.cn-shanghai.aliyuncs.com"
    assert (config.connect_timeout, config.read_timeout, config.retry.max_attempts, config.verify) == (2, 7, 3, False)


def test_repr_hides_secrets():
    config = build({"region_id": "cn-shanghai", "credential_type": "sts", "security_token": "sts-token-xyz"})
    assert SK not in repr(config)
    assert "sts-token-xyz" not in repr(config)
    assert set(config.secrets) == {SK, "sts-token-xyz"}


def test_no_keys_means_the_default_chain():
    assert build({"region_id": "cn-shanghai"}, login=None, password=None).credential_type == "default"


@pytest.mark.parametrize(
    ("extras", "login", "password", "field", "fix"),
    [
        ({}, AK, SK, "Region ID (region_id)", "cn-shanghai"),
        ({"region_id": "Shanghai!"}, AK, SK, "Region ID (region_id)", "cn-shanghai"),
        ({"region_id": "cn-shanghai", "protocol": "ftp"}, AK, SK, "Protocol (protocol)", "https"),
        ({"region_id": "cn-shanghai", "endpoint": "https://x"}, AK, SK, "Endpoint (endpoint)", "host[:port]"),
        ({"region_id": "cn-shanghai", "verify": "/no/such/ca.pem"}, AK, SK, "Verify TLS (verify)", "CA bundle"),
        (
            {"region_id": "cn-shanghai", "read_timeout": "soon"},
            AK,
            SK,
            "Read timeout (read_timeout)",
            "number of seconds",
        ),
        ({"region_id": "cn-shanghai", "connect_timeout": -1}, AK, SK, "Connect timeout (connect_timeout)", "positive"),
        (
            {"region_id": "cn-shanghai", "max_attempts": 1.5},
            AK,
            SK,
            "Max attempts per call (max_attempts)",
            "whole number",
        ),
        (
            {"region_id": "cn-shanghai", "credential_type": "magic"},
            AK,
            SK,
            "Credential type (credential_type)",
            "access_key",
        ),
        (
            {"region_id": "cn-shanghai", "credential_type": "sts"},
            AK,
            SK,
            "STS security token (security_token)",
            "needs it",
        ),
        ({"region_id": "cn-shanghai", "credential_type": "ram_role_arn"}, AK, SK, "Role ARN (role_arn)", "needs it"),
        (
            {"region_id": "cn-shanghai", "credential_type": "oidc_role_arn", "role_arn": "r"},
            None,
            None,
            "OIDC provider ARN (oidc_provider_arn)",
            "needs it",
        ),
        (
            {"region_id": "cn-shanghai", "credential_type": "access_key"},
            AK,
            None,
            "AccessKey Secret (password)",
            "needs it",
        ),
        (
            {"region_id": "cn-shanghai", "credential_type": "sts", "security_token": "t"},
            None,
            SK,
            "AccessKey ID (login)",
            "needs it",
        ),
        ({"region_id": "cn-shanghai", "regionid": "x"}, AK, SK, "'regionid'", "region_id"),
    ],
)
def test_invalid_fields_are_named_with_a_fix(extras, login, password, field, fix):
    with pytest.raises(IceConfigurationError) as excinfo:
        build(extras, login=login, password=password)
    message = str(excinfo.value)
    assert "ice_test" in message
    assert field in message
    assert fix in message
    assert SK not in message
    # What the form's Test shows: the same, without the (throwaway) connection id.
    assert message == f"Connection 'ice_test': {excinfo.value.detail}"
    assert "ice_test" not in excinfo.value.detail


@pytest.mark.parametrize(
    "proxy",
    ["http://bob:s3cr3t@proxy:99999", "http://bob:s3cr3t@proxy:3128x", "bob:s3cr3t@proxy:1", "http://bob:s3/cr3t@h:1x"],
)
def test_an_unparsable_proxy_url_is_named_without_its_credentials(proxy):
    with pytest.raises(IceConfigurationError) as excinfo:
        build({"region_id": "cn-shanghai", "proxy": proxy})
    assert "Proxy URL (proxy)" in str(excinfo.value)
    assert "s3cr3t" not in str(excinfo.value) and "cr3t" not in str(excinfo.value)
    assert "***@" in str(excinfo.value)
