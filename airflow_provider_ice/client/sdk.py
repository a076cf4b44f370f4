"""The ICE SDK's own client, for users who call other ICE APIs (``IceHook.get_conn()``).

The hook's own calls do not go through it (:mod:`.request` and the senders do). Built from the same
connection settings: the endpoint from the region (never the SDK's endpoint map, which sends most
regions to ``ice.aliyuncs.com``), the credentials client, timeouts, the CA bundle and the proxy the
hook would use. Imported on first use: the SDK is a slow import.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ice.client.config import CLIENT_NAME, IceConnectionConfig
from airflow_provider_ice.client.network import proxy_for


def sdk_client(config: IceConnectionConfig, credential: Any) -> Any:
    """An ``alibabacloud_ice20201109.client.Client`` for ``config``.

    Its requests follow the SDK's own rules: it reads ``HTTPS_PROXY`` itself when the connection
    names no proxy (it ignores ``NO_PROXY``), and ``verify: false`` must be passed per call
    (``RuntimeOptions(ignore_ssl=True)``).
    """
    from alibabacloud_ice20201109.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    proxy = proxy_for(config)
    return Client(
        Config(
            credential=credential,
            region_id=config.region_id,
            endpoint=config.endpoint,
            protocol=config.protocol,
            connect_timeout=int(config.connect_timeout * 1000),
            read_timeout=int(config.read_timeout * 1000),
            ca=config.verify if isinstance(config.verify, str) else None,
            user_agent=CLIENT_NAME,
            http_proxy=proxy,
            https_proxy=proxy,
        )
    )
