"""Server-side check of Alibaba Cloud V3 (``ACS3-HMAC-SHA256``) signatures, from the public spec.

Written independently of the SDK's signer, so a bug on either side shows up as a mismatch.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


class SignatureError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def parse_authorization(header: str | None) -> Authorization:
    if not header:
        raise SignatureError("MissingAuthorization", "The Authorization header is missing.")
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError("UnsupportedSignatureAlgorithm", f"Signature algorithm {algorithm!r} is not supported.")
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    try:
        return Authorization(fields["Credential"], tuple(fields["SignedHeaders"].split(";")), fields["Signature"])
    except KeyError as missing:
        raise SignatureError("IncompleteSignature", f"The Authorization header lacks {missing}.") from None


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
    """Raise :class:`SignatureError` unless ``auth`` signs exactly this request with ``secret``."""
    names = [h.lower() for h in auth.signed_headers]
    if names != sorted(names) or "host" not in names or "x-acs-date" not in names:
        raise SignatureError("IncompleteSignature", "SignedHeaders must be sorted and include host and x-acs-*.")
    content_hash = (headers.get("x-acs-content-sha256") or [""])[0]
    if content_hash != hashlib.sha256(body).hexdigest():
        raise SignatureError("ContentSHA256Mismatch", "x-acs-content-sha256 does not match the body.")
    canonical = canonical_request(method, path, query, headers, names, content_hash)
    if not hmac.compare_digest(expected_signature(secret, canonical), auth.signature):
        raise SignatureError(
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation.",
            status=403,
        )
