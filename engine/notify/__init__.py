"""Notices that reach an admin without a desktop: a signed webhook and e-mail.

notice     ``Notice`` (kind, agent, level, title, message) and the kinds
config     ``NotifyConfig``: the channels ``notifications.*`` configures
webhook    JSON POST signed with HMAC-SHA256 (the ``webhook-secret`` secret)
email      SMTP, always STARTTLS, login with the ``smtp-password`` secret
queue      the bounded queue of pending deliveries, persisted atomically
notifier   ``Notifier``: the delivery thread, retries with backoff, ``send_test``
"""

from __future__ import annotations

from engine.notify.config import SMTP_PORT, EmailChannel, NotifyConfig, WebhookChannel
from engine.notify.email import send_email
from engine.notify.notice import KINDS, LEVELS, Notice
from engine.notify.notifier import QUEUE_FILE, Notifier, RetryPolicy, Sender
from engine.notify.queue import NoticeQueue, Pending
from engine.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, send_webhook, signature

__all__ = [
    "KINDS",
    "LEVELS",
    "QUEUE_FILE",
    "SIGNATURE_HEADER",
    "SMTP_PORT",
    "TIMESTAMP_HEADER",
    "EmailChannel",
    "Notice",
    "NoticeQueue",
    "Notifier",
    "NotifyConfig",
    "Pending",
    "RetryPolicy",
    "Sender",
    "WebhookChannel",
    "send_email",
    "send_webhook",
    "signature",
]
