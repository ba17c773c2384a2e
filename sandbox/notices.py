"""Real receivers for Shepherd's notices: an HTTPS webhook and an SMTP server with STARTTLS.

    with WebhookReceiver(cert, secret="s3cret") as hook:    # https://127.0.0.1:<port>/hook
        hook.fail_next(2)                                   # answer 503 twice, then 200
        delivery = hook.wait_for(1)[0]                      # .notice, .signature_valid
    with SmtpServer(cert, user="u", password="p") as smtp:  # aiosmtpd, STARTTLS required
        message = smtp.wait_for(1)[0]                       # an email.message.Message

The webhook checks each delivery's HMAC-SHA256 signature the way docs/notify.md tells a
receiver to; the SMTP server refuses AUTH before STARTTLS and mail without a login.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sandbox.certs import CertPair
from sandbox.ports import free_port, wait_until

__all__ = ["Delivery", "SmtpServer", "WebhookReceiver"]


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]  # names in lower case
    body: bytes
    signature_valid: bool
    status: int  # what the receiver answered

    @property
    def notice(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class WebhookReceiver:
    def __init__(self, cert: CertPair, *, secret: str, path: str = "/hook") -> None:
        self.secret = secret
        self.path = path
        self.deliveries: list[Delivery] = []
        self._failures = 0
        self._status_always: int | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._answer()
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = receiver.verify(headers, body)
                with receiver._lock:
                    receiver.deliveries.append(Delivery(headers, body, valid, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert_path), str(cert.key_path))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get("x-shepherd-timestamp", "")
        digest = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest(
            f"sha256={digest.hexdigest()}", headers.get("x-shepherd-signature", "")
        )

    def fail_next(self, count: int) -> None:
        """Answer 503 to the next ``count`` deliveries."""
        with self._lock:
            self._failures = count

    def always(self, status: int | None) -> None:
        """Answer ``status`` to every delivery (None: back to 200)."""
        with self._lock:
            self._status_always = status

    def _answer(self) -> int:
        with self._lock:
            if self._status_always is not None:
                return self._status_always
            if self._failures > 0:
                self._failures -= 1
                return 503
            return 200

    def wait_for(self, count: int, timeout: float = 60) -> list[Delivery]:
        wait_until(lambda: len(self.deliveries) >= count, timeout, f"{count} webhook deliveries")
        with self._lock:
            return list(self.deliveries)

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], bool]] = []  # from, to, logged in

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(parsed)
        sender = str(envelope.mail_from)
        self.envelopes.append((sender, list(envelope.rcpt_tos), bool(session.authenticated)))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS (``starttls=False``: a server without it)."""

    def __init__(self, cert: CertPair, *, user: str, password: str, starttls: bool = True) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self.logins: list[tuple[str, bool]] = []  # (user, accepted)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert_path), str(cert.key_path))

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            login = data.login.decode()
            accepted = login == user and data.password.decode() == password
            self.logins.append((login, accepted))
            return AuthResult(success=accepted, handled=False)

        self._controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context if starttls else None,
            require_starttls=starttls,
            auth_required=starttls,
            auth_require_tls=True,
            authenticator=authenticator,
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 60) -> list[EmailMessage]:
        wait_until(lambda: len(self.inbox.messages) >= count, timeout, f"{count} e-mails")
        return list(self.inbox.messages)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()
