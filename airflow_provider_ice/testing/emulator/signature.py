"""Server-side check of Alibaba Cloud V3 (``ACS3-HMAC-SHA256``) signatures, from the public spec.

Written independently of the SDK's signer, so a bug on either side shows up as a mismatch. Refusals
are :class:`~.records.ApiError` with the gateway's documented codes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from airflow_provider_ice.testing.emulator.records import ApiError

ALGORITHM = "ACS3-HMAC-SHA256"


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


_INCOMPLETE = "The request signature does not conform to Aliyun standards"


def parse_authorization(header: str | None) -> Authorization:
    if not header:
        raise ApiError("IncompleteSignature", f"{_INCOMPLETE}: no Authorization header.")
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise ApiError("InvalidSignatureMethod", f"Specified signature method is not valid: {algorithm!r}.")
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    try:
        return Authorization(fields["Credential"], tuple(fields["SignedHeaders"].split(";")), fields["Signature"])
    except KeyError as missing:
        raise ApiError("IncompleteSignature", f"{_INCOMPLETE}: Authorization lacks {missing}.") from None


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, list[str]],
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    canonical_query = "&".join(
        f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query, key=lambda kv: kv[0])
    )
    names = list(signed_headers)
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in headers.get(name, [])))}\n" for name in names
    )
    return "\n".join([method, path or "/", canonical_query, canonical_headers, ";".join(names), payload_hash])


def expected_signature(secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    auth: Authorization,
    secret: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, list[str]],
    body: bytes,
) -> None:
    """Raise :class:`~.records.ApiError` unless ``auth`` signs exactly this request with ``secret``.

    ``host`` and every ``x-acs-*`` header present must be signed (the V3 page: every common header
    but Authorization, when present), and ``x-acs-date`` and ``x-acs-signature-nonce`` present.
    """
    names = [h.lower() for h in auth.signed_headers]
    required = {"host", "x-acs-date", "x-acs-signature-nonce"} | {h for h in headers if h.startswith("x-acs-")}
    unsigned = sorted(required - set(names))
    if names != sorted(names) or unsigned:
        raise ApiError("IncompleteSignature", f"{_INCOMPLETE}: SignedHeaders must be sorted and include {unsigned}.")
    content_hash = (headers.get("x-acs-content-sha256") or [""])[0]
    canonical = canonical_request(method, path, query, headers, names, content_hash)
    # A body that does not match its signed hash fails like any other change after signing (assumed:
    # the gateway documents no code of its own for it).
    if content_hash != hashlib.sha256(body).hexdigest() or not hmac.compare_digest(
        expected_signature(secret, canonical), auth.signature
    ):
        raise ApiError("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
