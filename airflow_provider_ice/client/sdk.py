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
from requests.adapters import BaseAdapter

from airflow_provider_ice.client.config import CLIENT_NAME, IceConnectionConfig
from airflow_provider_ice.client.errors import error_from_credentials, error_from_response, error_from_sdk
from airflow_provider_ice.client.network import proxy_for
from airflow_provider_ice.exceptions import INVALID_RESPONSE, REDIRECT, REQUEST_TOO_LONG, IceApiError

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
                **sdk_proxy_settings(self._proxy),
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


def sdk_proxy_settings(proxy: str | None) -> dict[str, str | None]:
    """The SDK ``Config`` proxy fields carrying :func:`.network.proxy_for`'s decision.

    Left empty, the SDK falls back to HTTPS_PROXY/HTTP_PROXY itself and ignores NO_PROXY, so a direct
    decision is spelt ``no_proxy="*"``, which :func:`route_sdk_session` makes the SDK's session honour.
    """
    if proxy is None:
        return {"http_proxy": None, "https_proxy": None, "no_proxy": "*"}
    return {"http_proxy": proxy, "https_proxy": proxy, "no_proxy": None}


def route_sdk_session(protocol: str, endpoint: str, verify: bool | str) -> None:
    """Fit the SDK's pooled ``requests`` session for this endpoint with :class:`SdkSessionAdapter`.

    The session is darabonba's (keyed as its ``do_action`` keys it); the adapter is mounted for this
    endpoint only, wraps the one darabonba mounted, and is idempotent.
    """
    from darabonba.core import DEFAULT_POOL_MAXSIZE, DaraCore

    key = f"{protocol}://{endpoint}:80:pool={DEFAULT_POOL_MAXSIZE}"
    session = DaraCore._get_session(
        session_key=key, protocol=protocol, verify=verify is not False, pool_size=DEFAULT_POOL_MAXSIZE
    )
    prefix = f"{protocol}://{endpoint}/"
    if not isinstance(session.get_adapter(prefix), SdkSessionAdapter):
        session.mount(prefix, SdkSessionAdapter(session.get_adapter(prefix)))


class SdkSessionAdapter(BaseAdapter):
    """Wraps the SDK's adapter so that the sync path behaves as the async one.

    darabonba hands ``Session.send`` a ``no_proxy`` that requests never reads there: ``"*"`` (our
    "direct" decision) drops every proxy here. ``Session.send`` follows redirects (a POST turned
    into a GET elsewhere), and the SDK reads a proxy's or gateway's HTML error page as "not JSON",
    losing its status: both are raised here as the errors the async path gives.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        if (proxies or {}).get("no_proxy") == "*":
            proxies = {}
        response = self.inner.send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        if response.is_redirect or response.status_code >= 400:
            # An ICE error body is the SDK's to read; a redirect or a non-JSON page is read here.
            error = error_from_response(
                request.headers.get("x-acs-action", "request"),
                response.status_code,
                response.headers,
                response.content,
                request.path_url,
            )
            if error.code in (REDIRECT, INVALID_RESPONSE, REQUEST_TOO_LONG):
                raise error
        return response

    def close(self) -> None:
        self.inner.close()
