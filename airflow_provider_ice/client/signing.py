"""The headers of a signed ICE request: the SDK's V3 signature (``ACS3-HMAC-SHA256``), made with
the SDK's own pieces, and what surrounds it made once where it does not change.

``Utils.get_authorization`` of ``alibabacloud_tea_openapi`` lower-cases, sorts and joins every
header on every call, though all but two (the date and the nonce) are the same for every call of
an action with one credential. Here the SDK's ``get_canonicalized_headers`` runs once per action
and credential (an STS token is part of the key: a rotated one gets its own entry), and each call
puts its date and nonce into the canonical text at their sorted places. The rest is the SDK's, in
its order: ``get_canonical_query_string``, ``Utils.hash``, ``signature_method`` (the HMAC).
``tests/test_signing.py`` holds the result equal to ``Utils.get_authorization``'s.
"""

from __future__ import annotations

import time
from functools import lru_cache
from secrets import token_hex
from typing import Any

from alibabacloud_tea_openapi.utils import (
    Utils,
    get_canonical_query_string,
    get_canonicalized_headers,
    signature_method,
)

from airflow_provider_ice.client.config import CLIENT_NAME
from airflow_provider_ice.kinds import FORM_PARAMS

API_VERSION = "2020-11-09"
SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_PAYLOAD_HASH = Utils.hash(b"", SIGNATURE_ALGORITHM).hex()
USER_AGENT = Utils.get_user_agent(CLIENT_NAME)
_DATE, _NONCE = "x-acs-date", "x-acs-signature-nonce"
#: Actions whose SDK request has a form body (SubmitMediaProducingJob's Timeline…), sent even when it
#: is empty: the SDK then sends and signs this content type (tests/test_wire_parity.py).
FORM_ACTIONS = frozenset(FORM_PARAMS)
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Stand-ins that sort nowhere near a real value: the canonical text is cut where they stand.
_DATE_MARK, _NONCE_MARK = "\x00date\x00", "\x00nonce\x00"


def payload_hash(body: bytes) -> str:
    """``x-acs-content-sha256`` of a request with ``body`` (the SDK's ``Utils.hash``)."""
    return EMPTY_PAYLOAD_HASH if not body else Utils.hash(body, SIGNATURE_ALGORITHM).hex()


@lru_cache(maxsize=256)
def _template(
    endpoint: str,
    action: str,
    provider_name: str | None,
    access_key_id: str,
    security_token: str | None,
    body_hash: str = EMPTY_PAYLOAD_HASH,
) -> tuple[dict[str, str], tuple[str, str, str], str]:
    """The headers every call of ``action`` with this credential sends, and their canonical text
    (cut around the date and the nonce) and signed-header list, by the SDK's ``get_canonicalized_headers``."""
    headers = {
        "host": endpoint,
        "x-acs-version": API_VERSION,
        "x-acs-action": action,
        "user-agent": USER_AGENT,
        _DATE: _DATE_MARK,
        _NONCE: _NONCE_MARK,
        "accept": "application/json",
        "x-acs-content-sha256": body_hash,
    }
    if action in FORM_ACTIONS:
        headers["content-type"] = FORM_CONTENT_TYPE
    if provider_name:
        headers["x-acs-credentials-provider"] = provider_name
    if security_token:
        headers["x-acs-accesskey-id"] = access_key_id
        headers["x-acs-security-token"] = security_token
    canonical, signed = get_canonicalized_headers(headers)
    before_date, rest = canonical.split(_DATE_MARK)
    between, after_nonce = rest.split(_NONCE_MARK)
    return headers, (before_date, between, after_nonce), signed


def canonical_query(params: dict[str, str]) -> str:
    """The query string as signed (the SDK's ``get_canonical_query_string``)."""
    return str(get_canonical_query_string(params))


def signed_headers(
    endpoint: str, action: str, canonical: str, credential: Any, body_hash: str = EMPTY_PAYLOAD_HASH
) -> dict[str, str]:
    """Every header of ``action`` with the query ``canonical`` (:func:`canonical_query`) to ``endpoint``
    (``POST /``; a body with the hash ``body_hash``, :func:`payload_hash`; default none), signed with
    ``credential`` (a ``CredentialModel``) as the SDK signs it; a fresh date and nonce each call."""
    template, (before_date, between, after_nonce), signed = _template(
        endpoint, action, credential.provider_name, credential.access_key_id, credential.security_token, body_hash
    )
    date, nonce = timestamp(), token_hex(16)
    canonical_request = f"POST\n/\n{canonical}\n{before_date}{date}{between}{nonce}{after_nonce}\n{signed}\n{body_hash}"
    digest = Utils.hash(canonical_request.encode("utf-8"), SIGNATURE_ALGORITHM).hex()
    signature = signature_method(credential.access_key_secret, f"{SIGNATURE_ALGORITHM}\n{digest}", SIGNATURE_ALGORITHM)
    headers = dict(template)
    # The SDK's nonce is an md5 of a timestamp, a counter and 64 random bits; 128 random bits are as
    # unique, in the same 32 hex digits, for a fraction of the CPU.
    headers[_DATE], headers[_NONCE] = date, nonce
    key_id = credential.access_key_id
    headers["Authorization"] = (
        f"{SIGNATURE_ALGORITHM} Credential={key_id},SignedHeaders={signed},Signature={signature.hex()}"
    )
    return headers


_stamp: tuple[int, str] = (0, "")


def timestamp() -> str:
    """``Utils.get_timestamp()`` (UTC, ISO 8601 to the second), formatted once a second."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]
