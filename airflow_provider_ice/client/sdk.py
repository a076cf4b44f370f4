"""The sync path: one attempt of an ICE action through the ICE SDK's own client.

Takes and returns what the async path (:mod:`.transport`) does, the request's parameters and the
answer's JSON, so the hook handles both paths alike. Imported on first use: the SDK costs ~0.45 s.
"""

from __future__ import annotations

from typing import Any

from alibabacloud_ice20201109 import models
from alibabacloud_ice20201109.client import Client as IceClient
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

from airflow_provider_ice.client.config import CLIENT_NAME, IceConnectionConfig
from airflow_provider_ice.client.errors import error_from_credentials, error_from_sdk
from airflow_provider_ice.client.network import proxy_for, route_sdk_session, sdk_proxy_settings
from airflow_provider_ice.exceptions import IceApiError

#: action -> (request model, client method)
_ACTIONS = {
    "StartAIWorkflow": (models.StartAIWorkflowRequest, "start_aiworkflow_with_options"),
    "GetAIWorkflowTask": (models.GetAIWorkflowTaskRequest, "get_aiworkflow_task_with_options"),
    "StopAIWorkflowTask": (models.StopAIWorkflowTaskRequest, "stop_aiworkflow_task_with_options"),
}


class SdkCaller:
    """The SDK client for one connection, with the endpoint set from the region (never the SDK's
    endpoint map) and the proxy and trust store of :mod:`.network`."""

    def __init__(self, config: IceConnectionConfig, credential: Any) -> None:
        self._config = config
        self._credential = credential
        self._proxy = proxy_for(config)
        route_sdk_session(config.protocol, config.endpoint, config.verify)
        self.client = IceClient(
            Config(
                credential=credential,
                region_id=config.region_id,
                endpoint=config.endpoint,
                protocol=config.protocol,
                connect_timeout=int(config.connect_timeout * 1000),
                read_timeout=int(config.read_timeout * 1000),
                ca=config.verify if isinstance(config.verify, str) else None,
                user_agent=CLIENT_NAME,
                **sdk_proxy_settings(config),
            )
        )
        # Timeouts and the CA bundle are on the client's Config; only "verify: false" is per call.
        self._runtime = RuntimeOptions(ignore_ssl=config.verify is False)

    def call(self, action: str, query: dict[str, str]) -> dict[str, Any]:
        """One attempt: the answer's JSON body, or :class:`IceApiError`."""
        request_model, method = _ACTIONS[action]
        try:
            # Fetched here first (the SDK's own fetch then hits the credentials client's cache) so
            # that a failed STS/RAM-role refresh reads as what it is, not as a failure to reach ICE.
            self._credential.get_credential()
        except Exception as exc:
            raise error_from_credentials(exc, action, self._config.credential_type) from None
        request = request_model().from_map(query)
        if set(request.to_map()) != set(query):  # from_map drops what the model does not know
            raise ValueError(f"{action}: the SDK's request model has no {sorted(set(query) - set(request.to_map()))}")
        try:
            response = getattr(self.client, method)(request, self._runtime)
        except IceApiError:
            raise
        except Exception as exc:
            raise error_from_sdk(exc, action, self._config.address, self._proxy) from None
        body: dict[str, Any] = response.body.to_map()
        return body
