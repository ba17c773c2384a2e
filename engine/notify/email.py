"""The e-mail channel: one message per notice over SMTP, always inside STARTTLS.

The server's certificate is verified like every TLS peer of Shepherd's (the system store or
``network.ca_bundle``). A server that offers no STARTTLS is refused: neither the message
nor the ``smtp-password`` secret is ever sent in the clear.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from engine.errors import NotifyError, SecretStoreError
from engine.notify.config import EmailChannel, NotifyConfig
from engine.notify.notice import Notice

__all__ = ["send_email"]

_TIMEOUT_SECONDS = 30.0


def send_email(config: NotifyConfig, notice: Notice) -> None:
    """Send ``notice`` to the recipients; returns when the server accepted it.

    Raises:
        NotifyError: not delivered; ``permanent`` when retrying cannot help (no STARTTLS,
            login refused, no password stored, a recipient refused).
    """
    import smtplib  # noqa: PLC0415 - only when a notice is sent: not in the idle daemon

    channel = config.email
    if channel is None:
        raise NotifyError("no e-mail is configured (notifications.smtp_server)", permanent=True)
    password = _password(config, channel)
    context = _tls_context(config)
    server = channel.server
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=_TIMEOUT_SECONDS) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise NotifyError(
                    f"e-mail: {server} offers no STARTTLS; Shepherd sends no mail in the clear",
                    permanent=True,
                )
            smtp.starttls(context=context)
            smtp.ehlo()
            if channel.user is not None and password is not None:
                smtp.login(channel.user, password)
            smtp.send_message(_message(channel, notice))
    except smtplib.SMTPAuthenticationError as e:
        raise NotifyError(
            f"e-mail: {server} refused the login of {channel.user!r} ({e.smtp_code})",
            permanent=True,
        ) from e
    except smtplib.SMTPRecipientsRefused as e:
        raise NotifyError(
            f"e-mail: {server} refused the recipients {sorted(e.recipients)}", permanent=True
        ) from e
    except smtplib.SMTPResponseException as e:
        message = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else ""
        raise NotifyError(
            f"e-mail: {server} answered {e.smtp_code} {message}".rstrip(),
            permanent=500 <= e.smtp_code < 600,
        ) from e
    except ssl.SSLCertVerificationError as e:
        raise NotifyError(
            f"e-mail: the certificate of {server} is not trusted: {e.verify_message}"
        ) from e
    except (smtplib.SMTPException, OSError) as e:
        raise NotifyError(f"e-mail: cannot deliver through {server}: {e}") from e


def _password(config: NotifyConfig, channel: EmailChannel) -> str | None:
    if channel.user is None:
        return None
    if config.secrets is None:
        raise NotifyError("e-mail: the secret store is not available")
    try:
        secret = config.secrets.get("smtp-password")
    except SecretStoreError as e:
        raise NotifyError(f"e-mail: {e}") from e
    if secret is None:
        raise NotifyError(
            f"e-mail: notifications.smtp_user is {channel.user!r} but no 'smtp-password' is in "
            "the keyring (shepherd secret set smtp-password)",
            permanent=True,
        )
    return secret.reveal()


def _tls_context(config: NotifyConfig) -> ssl.SSLContext:
    bundle = config.transport.ca_bundle
    try:
        return ssl.create_default_context(cafile=None if bundle is None else str(bundle))
    except (OSError, ssl.SSLError) as e:
        raise NotifyError(f"e-mail: CA bundle {str(bundle)!r} is not usable: {e}") from e


def _message(channel: EmailChannel, notice: Notice) -> EmailMessage:
    message = EmailMessage()
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message["Subject"] = notice.subject()
    message["Date"] = formatdate(notice.time, usegmt=True)
    message["Message-ID"] = make_msgid("shepherd." + notice.id[:8])
    message["X-Shepherd-Event"] = notice.kind
    message.set_content(notice.text())
    return message
