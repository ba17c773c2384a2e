"""Where notices go, read from the host settings: the webhook and the e-mail channel.

    config = NotifyConfig.from_settings(settings, secrets, transport)
    config.channels_for("failed")      # ("webhook", "email"): those subscribed to the kind
    config.problems                    # ("notifications.email_to is not set ...",)

Secrets are not read here but at each delivery, so a secret stored later is used at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.settings.model import Settings
from engine.settings.secrets import SecretStore
from engine.sources.transport import TransportConfig

__all__ = ["SMTP_PORT", "EmailChannel", "NotifyConfig", "WebhookChannel"]

SMTP_PORT = 587  # submission, STARTTLS


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    user: str | None
    sender: str
    recipients: tuple[str, ...]
    kinds: tuple[str, ...]

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NotifyConfig:
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None
    transport: TransportConfig = field(default_factory=TransportConfig)
    secrets: SecretStore | None = None
    problems: tuple[str, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(
            name for name, channel in (("webhook", self.webhook), ("email", self.email)) if channel
        )

    def channels_for(self, kind: str) -> tuple[str, ...]:
        """The channels that want notices of ``kind`` (a test notice goes to every one)."""
        wanted = []
        if self.webhook is not None and (kind == "test" or kind in self.webhook.kinds):
            wanted.append("webhook")
        if self.email is not None and (kind == "test" or kind in self.email.kinds):
            wanted.append("email")
        return tuple(wanted)

    @classmethod
    def from_settings(
        cls, settings: Settings, secrets: SecretStore | None, transport: TransportConfig
    ) -> NotifyConfig:
        """The channels ``notifications.*`` configures. An e-mail channel without a sender
        or recipients is left out and named in ``problems``."""
        url = settings.get_text("notifications.webhook_url")
        webhook = (
            WebhookChannel(url, settings.get_names("notifications.webhook_kinds")) if url else None
        )
        email, problems = _email_channel(settings)
        return cls(webhook, email, transport, secrets, problems)


def _email_channel(settings: Settings) -> tuple[EmailChannel | None, tuple[str, ...]]:
    server = settings.get_text("notifications.smtp_server")
    if not server:
        return None, ()
    sender = settings.get_text("notifications.email_from")
    to = settings.get_text("notifications.email_to")
    missing = [k for k, v in (("email_from", sender), ("email_to", to)) if not v]
    if sender is None or to is None:
        names = " and ".join(f"notifications.{k}" for k in missing)
        return None, (f"no e-mail is sent: notifications.smtp_server is set but {names} not",)
    host, _, port = server.partition(":")
    return (
        EmailChannel(
            host=host,
            port=int(port) if port else SMTP_PORT,
            user=settings.get_text("notifications.smtp_user"),
            sender=sender,
            recipients=tuple(a.strip() for a in to.split(",")),
            kinds=settings.get_names("notifications.email_kinds"),
        ),
        (),
    )
