"""The emulator's OpenAPI gateway: what Alibaba Cloud's gateway checks before ICE sees a request.

As the gateway documents it (the pages in ``errors.py``: the common errors and the V3 signature
page, which gives the 15-minute windows of the date and the nonce): the request
line's length (the web server in front answers 414 with an HTML page; the real limit is not
published, the default here is 8 KB), ``x-acs-version``, the V3 ``Authorization`` (algorithm, key,
every ``x-acs-*`` header and ``host`` signed, the signature), the STS token, ``x-acs-date`` within
15 minutes of the wall clock, and a nonce not reused within 15 minutes. The date and nonce checks
can be switched off for tests that freeze time; they are on by default.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_ice.testing.emulator import signature
from airflow_provider_ice.testing.emulator.errors import REQUEST_LINE_LIMIT
from airflow_provider_ice.testing.emulator.records import ApiError

API_VERSION = "2020-11-09"
#: How far x-acs-date may be from the gateway's clock, and how long a nonce is remembered.
WINDOW_SECONDS = 15 * 60
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class GatewaySettings:
    """``check_date``: refuse an ``x-acs-date`` more than 15 minutes off (``InvalidTimeStamp.Expired``);
    ``check_nonce``: refuse a nonce seen in the last 15 minutes (``SignatureNonceUsed``);
    ``max_request_line``: longer request lines are answered 414."""

    check_date: bool = True
    check_nonce: bool = True
    max_request_line: int = REQUEST_LINE_LIMIT


class Gateway:
    """Authenticates requests for one emulator; remembers the nonces of the last 15 minutes."""

    def __init__(self, settings: GatewaySettings, access_keys: dict[str, Any]) -> None:
        self.settings = settings
        self.access_keys = access_keys
        self._nonces: set[str] = set()
        self._expiry: deque[tuple[float, str]] = deque()

    def request_line_too_long(self, method: str, raw_path: str) -> bool:
        return len(method) + len(raw_path) + len("  HTTP/1.1") > self.settings.max_request_line

    def authenticate(
        self, method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, list[str]], body: bytes
    ) -> tuple[str, str]:
        """Check one request as the gateway does; return (AccessKey ID, principal's display name), or
        raise :class:`ApiError`."""
        first = {name: values[0] for name, values in headers.items() if values}
        version = first.get("x-acs-version")
        if not version:
            raise ApiError("MissingVersion", "Version is mandatory for this action.")
        if version != API_VERSION:
            raise ApiError("InvalidVersion", f"Specified parameter Version is not valid: {API_VERSION} expected.")
        auth = signature.parse_authorization(first.get("authorization"))
        entry = self.access_keys.get(auth.access_key_id)
        if entry is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        secret, token, principal = _key(entry)
        if token is not None and first.get("x-acs-security-token") != token:
            raise ApiError("InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken is not valid.")
        self._check_date(first.get("x-acs-date", ""))
        signature.verify(auth, secret, method, path, query, headers, body)
        self._check_nonce(first.get("x-acs-signature-nonce", ""))
        return auth.access_key_id, principal

    def _check_date(self, value: str) -> None:
        if not self.settings.check_date:
            return
        try:
            signed_at = datetime.strptime(value, _DATE_FORMAT).replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise ApiError(
                "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from None
        if abs(time.time() - signed_at) > WINDOW_SECONDS:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")

    def _check_nonce(self, nonce: str) -> None:
        if not self.settings.check_nonce:
            return
        now = time.time()
        while self._expiry and self._expiry[0][0] <= now:
            self._nonces.discard(self._expiry.popleft()[1])
        if nonce in self._nonces:
            raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(nonce)
        self._expiry.append((now + WINDOW_SECONDS, nonce))


def _key(entry: Any) -> tuple[str, str | None, str]:
    """(secret, STS token or None, RAM principal name) of an access key entry."""
    if isinstance(entry, str):
        return entry, None, "ice-emulator-user"
    return entry["secret"], entry.get("security_token"), entry.get("principal", "ice-emulator-user")
