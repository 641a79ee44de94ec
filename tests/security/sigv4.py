"""What S3 does with a presigned GET link, which moto does not check: verify its Signature Version 4
query signature and its expiry (AWS's documented algorithm, "Authenticating Requests: Using Query
Parameters"). The link is served only if both hold; any change to the bucket, the key or a signed
parameter gives another signature."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MAX_EXPIRES = 7 * 24 * 3600  # S3 refuses a SigV4 link signed for longer


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def s3_answer(url: str, secret_access_key: str, now: datetime) -> str:
    """`served`, or the refusal S3 would give: `SignatureDoesNotMatch`, `AccessDenied (expired)`,
    `AuthorizationQueryParametersError` (not SigV4, or an expiry beyond 7 days)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return "AuthorizationQueryParametersError"
    expires = int(params["X-Amz-Expires"])
    if not 1 <= expires <= MAX_EXPIRES:
        return "AuthorizationQueryParametersError"
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if now > signed_at + timedelta(seconds=expires):
        return "AccessDenied (expired)"
    _, day, region, service, _ = params["X-Amz-Credential"].split("/")
    canonical_query = "&".join(
        f"{quote(key, safe='-_.~')}={quote(value, safe='-_.~')}"
        for key, value in sorted(query)
        if key != "X-Amz-Signature"
    )
    canonical_request = "\n".join(
        [
            "GET",
            quote(unquote(parts.path), safe="/-_.~"),
            canonical_query,
            f"host:{parts.netloc}\n",
            params["X-Amz-SignedHeaders"],
            "UNSIGNED-PAYLOAD",
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            f"{day}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_access_key}".encode(), day), region), service), "aws4_request")
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return "served" if hmac.compare_digest(expected, params.get("X-Amz-Signature", "")) else "SignatureDoesNotMatch"
