"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

_S = {"type": ["string", "null"]}
_N = {"type": ["number", "null"]}

#: Connection extras shown as form fields (Airflow >= 3.2 reads them from here, older from the hook).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region_id": {"label": "Region ID", "schema": _S, "description": "e.g. cn-shanghai (required)"},
    "endpoint": {
        "label": "Endpoint",
        "schema": _S,
        "description": "host[:port]; default ice.<region_id>.aliyuncs.com (VPC: ice-vpc.<region_id>.aliyuncs.com)",
    },
    "protocol": {"label": "Protocol", "schema": {"type": ["string", "null"], "enum": ["https", "http", None]}},
    "verify": {"label": "Verify TLS", "schema": _S, "description": "true, false or a CA bundle path"},
    "connect_timeout": {"label": "Connect timeout (s)", "schema": _N},
    "read_timeout": {"label": "Read timeout (s)", "schema": _N},
    "credential_type": {
        "label": "Credential type",
        "schema": {
            "type": ["string", "null"],
            "enum": ["access_key", "sts", "ram_role_arn", "ecs_ram_role", "oidc_role_arn", "default", None],
        },
        "description": "access_key when login/password are set, else default (the Alibaba Cloud credential chain)",
    },
    "security_token": {"label": "STS security token", "schema": {"type": ["string", "null"], "format": "password"}},
    "role_arn": {"label": "Role ARN", "schema": _S},
    "role_session_name": {"label": "Role session name", "schema": _S},
    "role_name": {"label": "ECS RAM role name", "schema": _S},
    "oidc_provider_arn": {"label": "OIDC provider ARN", "schema": _S},
    "oidc_token_file_path": {"label": "OIDC token file path", "schema": _S},
    "max_attempts": {"label": "Max attempts per call", "schema": {"type": ["integer", "null"], "default": 5}},
    "proxy": {
        "label": "Proxy URL",
        # hidden like a password: the URL may carry the proxy's credentials
        "schema": {"type": ["string", "null"], "format": "password"},
        "description": "http://[user:password@]host:port; default HTTPS_PROXY / HTTP_PROXY from the environment",
    },
    "no_proxy": {
        "label": "No proxy for",
        "schema": _S,
        "description": "comma-separated hosts reached directly; default NO_PROXY from the environment",
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "AccessKey ID", "password": "AccessKey Secret"},
    "placeholders": {
        "login": "LTAI... (empty for the default credential chain)",
        "region_id": "cn-shanghai",
    },
}


def _version() -> str:
    from airflow_provider_ice import __version__

    return __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-ice",
        "name": "Alibaba Cloud ICE",
        "description": "Alibaba Cloud Intelligent Media Services (ICE) AI workflows.",
        "versions": [_version()],
        "integrations": [
            {
                "integration-name": "Alibaba Cloud ICE",
                "external-doc-url": "https://www.alibabacloud.com/help/en/ims/",
                "tags": ["alibaba"],
            }
        ],
        "hooks": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": ["airflow_provider_ice.hooks.ice"]},
        ],
        "sensors": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": ["airflow_provider_ice.sensors.ice"]},
        ],
        "triggers": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": ["airflow_provider_ice.triggers.ice"]},
        ],
        "operators": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": ["airflow_provider_ice.operators.ice"]},
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_ice.hooks.ice.IceHook",
                "hook-name": "Alibaba Cloud ICE",
                "connection-type": "alibaba_cloud_ice",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
