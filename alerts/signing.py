"""Standard Webhooks signatures: ``v1,`` + base64 HMAC-SHA256 of
``{webhook-id}.{webhook-timestamp}.{body}`` keyed with the secret's bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def signed_headers(
    *, secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
