"""Turn an Airflow connection into validated ICE client settings (no SDK import, no I/O)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_ice.exceptions import IceConfigurationError

CREDENTIAL_TYPES: dict[str, tuple[str, ...]] = {
    # credential_type -> extras it requires (besides what login/password give)
    "access_key": (),
    "sts": ("security_token",),
    "ram_role_arn": ("role_arn",),
    "ecs_ram_role": (),
    "oidc_role_arn": ("role_arn", "oidc_provider_arn", "oidc_token_file_path"),
    "default": (),
}
NEEDS_ACCESS_KEY = {"access_key", "sts", "ram_role_arn"}

#: Every extra the connection understands; anything else is rejected as a likely typo.
KNOWN_EXTRAS = frozenset(
    {
        "region_id",
        "endpoint",
        "protocol",
        "verify",
        "connect_timeout",
        "read_timeout",
        "credential_type",
        "security_token",
        "role_arn",
        "role_session_name",
        "role_name",
        "oidc_provider_arn",
        "oidc_token_file_path",
        "max_attempts",
        "retry_base_delay",
        "retry_max_delay",
        "retry_max_elapsed",
        "proxy",
        "no_proxy",
        "max_calls_per_second",
    }
)
#: The name the provider gives itself to ICE: User-Agent on both paths, the RAM role session name.
CLIENT_NAME = "airflow-provider-ice"
_REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")


@dataclass(frozen=True)
class RetrySettings:
    """How transient failures are retried: exponential backoff with full jitter, bounded twice.

    :param max_attempts: attempts per call, the first included (the ``max_attempts`` extra); default 5.
        A start or submit refused as throttled uses none: ICE ran nothing; it is retried until ``max_elapsed``.
    :param base_delay: seconds of the first backoff (``retry_base_delay``); default 0.5.
    :param max_delay: the longest single backoff, seconds (``retry_max_delay``); default 20.
    :param max_elapsed: no new attempt starts once this many seconds have passed since the first
        one (``retry_max_elapsed``), and no start or submit waits past it for its turn; default 120.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 120.0


@dataclass(frozen=True)
class IceConnectionConfig:
    """Everything needed to build a client, validated from a connection. ``repr`` never shows a
    secret. Each field is the connection field or extra of the same name (see the connection page).

    :param region_id: the ICE region, e.g. ``cn-shanghai``.
    :param endpoint: ``host[:port]``; the ``endpoint`` extra, by default ``ice.<region_id>.aliyuncs.com``.
    :param protocol: ``https`` or ``http``.
    :param verify: True (the system's CAs and certifi's), False (no verification), or a CA bundle path.
    :param connect_timeout: seconds to connect.
    :param read_timeout: seconds to wait for an answer.
    :param credential_type: ``access_key``, ``sts``, ``ram_role_arn``, ``ecs_ram_role``,
        ``oidc_role_arn`` or ``default``.
    :param access_key_id: the connection's login; default None.
    :param access_key_secret: its password; default None.
    :param security_token: the STS token; default None.
    :param role_arn: the RAM role to assume; default None.
    :param role_session_name: the assumed role's session name; default None (``airflow-provider-ice``).
    :param role_name: the ECS instance's RAM role; default None (the attached one).
    :param oidc_provider_arn: the OIDC provider; default None.
    :param oidc_token_file_path: the OIDC token file; default None.
    :param retry: how transient failures are retried; default :class:`RetrySettings` ().
    :param proxy: the proxy URL of the ``proxy`` extra (it may carry credentials); default None: the
        environment's ``HTTPS_PROXY``/``HTTP_PROXY``.
    :param no_proxy: hosts reached directly; default None: the environment's ``NO_PROXY``.
    :param max_calls_per_second: calls a second each action may make from this process; default
        None: as fast as ICE allows.
    """

    region_id: str
    endpoint: str
    protocol: str
    verify: bool | str
    connect_timeout: float
    read_timeout: float
    credential_type: str
    access_key_id: str | None = None
    access_key_secret: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    role_arn: str | None = None
    role_session_name: str | None = None
    role_name: str | None = None
    oidc_provider_arn: str | None = None
    oidc_token_file_path: str | None = None
    retry: RetrySettings = field(default_factory=RetrySettings)
    proxy: str | None = field(default=None, repr=False)
    no_proxy: str | None = None
    max_calls_per_second: float | None = None

    @property
    def account(self) -> str:
        """Who ICE's flow control counts the calls of: the AccessKey ID, or the role (never a rotating key)."""
        if self.credential_type in ("ram_role_arn", "oidc_role_arn"):
            return f"role:{self.role_arn}"
        if self.credential_type == "ecs_ram_role":
            return f"ecs-role:{self.role_name or 'attached'}"
        return f"key:{self.access_key_id or self.credential_type}"

    @property
    def host(self) -> str:
        return urlsplit(f"//{self.endpoint}").hostname or self.endpoint

    @property
    def port(self) -> int:
        return urlsplit(f"//{self.endpoint}").port or (443 if self.protocol == "https" else 80)

    @property
    def address(self) -> str:
        """``host:port`` of the endpoint, as error messages name it."""
        return f"{self.host}:{self.port}"

    @property
    def credential_key(self) -> tuple[Any, ...]:
        """Everything that identifies the credentials (for sharing one credential client)."""
        return (
            self.credential_type,
            self.access_key_id,
            self.access_key_secret,
            self.security_token,
            self.role_arn,
            self.role_session_name,
            self.role_name,
            self.oidc_provider_arn,
            self.oidc_token_file_path,
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        proxy_password = urlsplit(self.proxy).password if self.proxy else None
        return tuple(s for s in (self.access_key_secret, self.security_token, proxy_password) if s)


def _fail(conn_id: str, key: str, problem: str, fix: str) -> IceConfigurationError:
    """The error for field ``key`` (an extra, or login/password), named by its form label."""
    from airflow_provider_ice.connection_form import field_label

    detail = f"{field_label(key)} {problem}. {fix}"
    return IceConfigurationError(f"Connection {conn_id!r}: {detail}", detail=detail)


def _number(conn_id: str, extras: Mapping[str, Any], key: str, default: float, *, integer: bool = False) -> Any:
    raw = extras.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
        if isinstance(raw, bool) or (integer and float(raw) != int(raw)):
            raise ValueError
    except (TypeError, ValueError):
        kind = "a whole number" if integer else "a number of seconds"
        raise _fail(conn_id, key, f"is {raw!r}, not {kind}", f"Set it to {kind}, e.g. {default}.") from None
    if value <= 0 and not (key == "retry_base_delay" and value == 0):
        raise _fail(conn_id, key, f"is {raw!r}", f"Use a positive value, e.g. {default}.")
    return value


def _verify(conn_id: str, raw: Any) -> bool | str:
    if raw is None or raw == "":
        return True
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    if not os.path.isfile(text):
        raise _fail(
            conn_id,
            "verify",
            f"is {raw!r}, which is neither true/false nor an existing CA bundle file",
            "Use true (system CAs), false (no verification, testing only) or the path of a PEM CA bundle.",
        )
    return text


def _proxy(conn_id: str, raw: Any) -> str | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        # Never the credentials, even of a URL that does not parse: whatever sits before the last "@".
        shown = re.sub(r"^([a-z0-9+.-]*://)?.*@", lambda m: f"{m.group(1) or ''}***@", text, flags=re.I)
        raise _fail(
            conn_id,
            "proxy",
            f"is {shown!r}, not a proxy URL",
            "Use http://[user:password@]host:port (or https://...), or leave it empty to use HTTPS_PROXY/HTTP_PROXY.",
        )
    return text


def build_connection_config(
    conn_id: str,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
    *,
    region_id: str | None = None,
) -> IceConnectionConfig:
    """Validate a connection's fields; raise :class:`IceConfigurationError` naming the field and the fix."""
    unknown = sorted(set(extras) - KNOWN_EXTRAS)
    if unknown:
        raise _fail(
            conn_id,
            unknown[0],
            "is not a known setting",
            f"Remove it or use one of: {', '.join(sorted(KNOWN_EXTRAS))}.",
        )
    region = (region_id or extras.get("region_id") or "").strip()
    if not region:
        raise _fail(
            conn_id,
            "region_id",
            "is missing",
            "Set it to the ICE region (e.g. cn-shanghai), or pass region_id= to the hook or operator.",
        )
    if not _REGION_RE.match(region):
        raise _fail(conn_id, "region_id", f"is {region!r}, not a region id", "Use e.g. cn-shanghai or ap-southeast-1.")
    protocol = str(extras.get("protocol") or "https").strip().lower()
    if protocol not in ("https", "http"):
        raise _fail(conn_id, "protocol", f"is {protocol!r}", "Use https (default) or http (local servers only).")
    endpoint = str(extras.get("endpoint") or "").strip()
    if "://" in endpoint:
        raise _fail(
            conn_id,
            "endpoint",
            f"is {endpoint!r}, with a scheme",
            "Give host[:port] only (e.g. ice-vpc.cn-shanghai.aliyuncs.com) and the scheme in Protocol (protocol).",
        )
    # Never the SDK's endpoint map: it sends most regions to ice.aliyuncs.com.
    endpoint = endpoint.rstrip("/") or f"ice.{region}.aliyuncs.com"

    credential_type = str(extras.get("credential_type") or "").strip()
    if not credential_type:
        credential_type = "access_key" if (login or password) else "default"
    if credential_type not in CREDENTIAL_TYPES:
        raise _fail(
            conn_id,
            "credential_type",
            f"is {credential_type!r}",
            f"Use one of: {', '.join(CREDENTIAL_TYPES)}.",
        )
    if credential_type in NEEDS_ACCESS_KEY:
        if not login:
            raise _fail(conn_id, "login", "is empty", f"Credential type {credential_type!r} needs it.")
        if not password:
            raise _fail(conn_id, "password", "is empty", f"Credential type {credential_type!r} needs it.")
    for key in CREDENTIAL_TYPES[credential_type]:
        if not str(extras.get(key) or "").strip():
            raise _fail(conn_id, key, "is missing", f"Credential type {credential_type!r} needs it.")

    return IceConnectionConfig(
        region_id=region,
        endpoint=endpoint,
        protocol=protocol,
        verify=_verify(conn_id, extras.get("verify")),
        connect_timeout=_number(conn_id, extras, "connect_timeout", 5.0),
        read_timeout=_number(conn_id, extras, "read_timeout", 10.0),
        credential_type=credential_type,
        access_key_id=login or None,
        access_key_secret=password or None,
        security_token=extras.get("security_token") or None,
        role_arn=extras.get("role_arn") or None,
        role_session_name=extras.get("role_session_name") or None,
        role_name=extras.get("role_name") or None,
        oidc_provider_arn=extras.get("oidc_provider_arn") or None,
        oidc_token_file_path=extras.get("oidc_token_file_path") or None,
        retry=RetrySettings(
            max_attempts=_number(conn_id, extras, "max_attempts", 5, integer=True),
            base_delay=_number(conn_id, extras, "retry_base_delay", 0.5),
            max_delay=_number(conn_id, extras, "retry_max_delay", 20.0),
            max_elapsed=_number(conn_id, extras, "retry_max_elapsed", 120.0),
        ),
        proxy=_proxy(conn_id, extras.get("proxy")),
        no_proxy=str(extras.get("no_proxy") or "").strip() or None,
        max_calls_per_second=_rate(conn_id, extras.get("max_calls_per_second")),
    )


def _rate(conn_id: str, raw: Any) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
        if isinstance(raw, bool) or value <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise _fail(
            conn_id,
            "max_calls_per_second",
            f"is {raw!r}, not a positive number",
            "Set it to the calls a second each action may make from one process, e.g. 20, or leave it empty.",
        ) from None
    return value
