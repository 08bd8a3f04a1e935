"""The widget's signed customer identity.

The host's server signs the whole session body, so a browser can open a session
without an API key yet cannot change a single field of it::

    payload   = base64url(JSON of the POST /api/v1/sessions body + "timestamp")
    signature = hex(HMAC-SHA256(identity secret, payload))

The signature covers the payload *string* as sent, so there are no field
boundaries to shift and no canonical JSON to agree on. ``widget_identity_sign``
is what a host (or a test) calls; the API calls ``widget_identity_verify``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ServiceError
from workspaces.models import Workspace
from workspaces.selectors import workspace_by_public_id

# A signature dated further ahead than this (host clock running fast) is refused.
WIDGET_AUTH_MAX_SKEW_SECONDS = 60
# The session body is bounded anyway (metadata at most 8 KB); base64 adds a third.
WIDGET_PAYLOAD_MAX_CHARS = 32_768


def widget_payload_encode(body: Mapping[str, Any]) -> str:
    """base64url (RFC 4648 §5, unpadded) of the body as UTF-8 JSON."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def widget_payload_decode(payload: str) -> dict[str, Any]:
    """The JSON object inside ``payload`` (padded or not); ValueError otherwise."""
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError("not base64url of UTF-8 JSON") from error
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


def widget_payload_sign(*, payload: str, secret: str) -> str:
    """Hex HMAC-SHA256 of the payload string with the workspace's identity secret."""
    return hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).hexdigest()


def widget_identity_sign(
    *, workspace: str, secret: str, body: Mapping[str, Any], timestamp: int | None = None
) -> dict[str, str]:
    """The whole request body for ``POST /api/v1/widget/sessions``: ``body`` is the
    body of ``POST /api/v1/sessions``; ``workspace`` the public id (ws_…)."""
    stamped = {**body, "timestamp": int(time.time()) if timestamp is None else timestamp}
    payload = widget_payload_encode(stamped)
    return {
        "workspace": workspace,
        "payload": payload,
        "signature": widget_payload_sign(payload=payload, secret=secret),
    }


def _refused(message: str, code: str) -> ServiceError:
    return ServiceError(message, code=code, status_code=401)


def widget_identity_verify(
    *, workspace_public_id: str, payload: str, signature: str
) -> tuple[Workspace, dict[str, Any]]:
    """The workspace and the decoded payload, once the signature matches.

    An unknown workspace is refused exactly like a wrong signature (401
    ``bad_signature``), so the endpoint does not tell which workspaces exist.
    A payload that matches but does not decode is the host's bug: 400.
    """
    workspace = workspace_by_public_id(public_id=workspace_public_id)
    # Compute a digest even for an unknown workspace, so both take the same path.
    secret = workspace.identity_secret if workspace is not None else ""
    expected = widget_payload_sign(payload=payload, secret=secret)
    matches = hmac.compare_digest(expected, signature.lower())
    if workspace is None or not matches:
        raise _refused(_("The identity signature does not match."), "bad_signature")
    try:
        body = widget_payload_decode(payload)
    except ValueError:
        raise ServiceError(
            _("Some fields are missing or invalid."),
            code="validation_error",
            fields={"payload": _("Must be the base64url of a JSON object.")},
        ) from None
    return workspace, body


def widget_timestamp_check(*, timestamp: int, now: datetime | None = None) -> None:
    """Refuse (401) a signature older than WIDGET_AUTH_MAX_AGE_SECONDS or dated more
    than WIDGET_AUTH_MAX_SKEW_SECONDS ahead."""
    now_seconds = (now or timezone.now()).timestamp()
    if now_seconds - timestamp > settings.WIDGET_AUTH_MAX_AGE.total_seconds():
        raise _refused(_("The identity signature is too old; sign it again."), "signature_expired")
    if timestamp - now_seconds > WIDGET_AUTH_MAX_SKEW_SECONDS:
        raise _refused(
            _("The identity signature is dated in the future; check the server's clock."),
            "signature_in_future",
        )
