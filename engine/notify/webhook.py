"""The webhook channel: one JSON POST per notice, signed with HMAC-SHA256.

The receiver checks a delivery like this (``secret`` is the ``webhook-secret`` secret)::

    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    hmac.compare_digest(f"sha256={expected}", headers["X-Shepherd-Signature"])

with ``timestamp`` from ``X-Shepherd-Timestamp`` (Unix seconds; refuse old ones against a
replay). ``X-Shepherd-Delivery`` is the notice's id: a retried delivery repeats it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import replace

import httpx

from engine.errors import NotifyError, SecretStoreError
from engine.notify.config import NotifyConfig
from engine.notify.notice import Notice
from engine.sources.transport import USER_AGENT, describe_error, make_client

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "send_webhook", "signature"]

SIGNATURE_HEADER = "X-Shepherd-Signature"
TIMESTAMP_HEADER = "X-Shepherd-Timestamp"
_TIMEOUT_SECONDS = 15.0
_RETRIED_STATUSES = frozenset({408, 425, 429})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def send_webhook(config: NotifyConfig, notice: Notice) -> None:
    """POST ``notice`` to the webhook; returns when the receiver answered 2xx.

    Raises:
        NotifyError: not delivered; ``permanent`` when retrying cannot help (no secret, a
            4xx other than 408/425/429, a redirect).
    """
    channel = config.webhook
    if channel is None:
        raise NotifyError("no webhook is configured (notifications.webhook_url)", permanent=True)
    secret = _secret(config)
    body = json.dumps(notice.as_json(), sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Shepherd-Event": notice.kind,
        "X-Shepherd-Delivery": notice.id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    transport = replace(config.transport, timeout_seconds=_TIMEOUT_SECONDS)
    try:
        with make_client(transport) as client:
            response = client.post(channel.url, content=body, headers=headers)
    except httpx.HTTPError as e:
        raise NotifyError(f"webhook: {describe_error(e, channel.url)}") from e
    if 200 <= response.status_code < 300:
        return
    status = response.status_code
    permanent = 300 <= status < 500 and status not in _RETRIED_STATUSES
    what = "redirects are not followed" if 300 <= status < 400 else _snippet(response)
    raise NotifyError(f"webhook {channel.url} answered {status}: {what}", permanent=permanent)


def _secret(config: NotifyConfig) -> str:
    if config.secrets is None:
        raise NotifyError("webhook: the secret store is not available")
    try:
        secret = config.secrets.get("webhook-secret")
    except SecretStoreError as e:
        raise NotifyError(f"webhook: {e}") from e
    if secret is None:
        raise NotifyError(
            "webhook: no 'webhook-secret' in the keyring to sign notices with "
            "(shepherd secret set webhook-secret)",
            permanent=True,
        )
    return secret.reveal()


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return repr(text[:200]) if text else "(no body)"
