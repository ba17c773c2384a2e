"""Notices through the real daemon: the admin configures a webhook and e-mail with the CLI,
`shepherd notify test` reaches both, an update sends its notice (signed; over STARTTLS),
a webhook that never answers does not hold the update up, and the new secrets are nowhere
they must not be (files under the host root, the daemon's log, API answers)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from sandbox.notices import SmtpServer, WebhookReceiver
from sandbox.ports import wait_until
from tests.fixtures.daemon import RunningDaemon
from tests.fixtures.notify import SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET
from tests.integration.test_daemon_settings import set_secret

pytestmark = pytest.mark.integration


def _configure(daemon: RunningDaemon, webhook_url: str, smtp: SmtpServer | None) -> None:
    assignments = [f"notifications.webhook_url={webhook_url}"]
    if smtp is not None:
        assignments += [
            f"notifications.smtp_server={smtp.address}",
            f"notifications.smtp_user={SMTP_USER}",
            "notifications.email_from=shepherd@host.example",
            "notifications.email_to=admin@example.com",
        ]
    changed = daemon.cli("settings", "set", *assignments)
    assert changed.returncode == 0, changed.stderr
    for name, value in (("webhook-secret", WEBHOOK_SECRET), ("smtp-password", SMTP_PASSWORD)):
        stored = set_secret(daemon, name, value)
        assert stored.returncode == 0, stored.stderr


def _assert_secrets_nowhere(daemon: RunningDaemon) -> None:
    files = [p for p in daemon.host.root.rglob("*") if p.is_file() and not p.is_symlink()]
    answers = [
        json.dumps(daemon.api.get(path))
        for path in ("/v1/settings", "/v1/secrets", "/v1/notify", "/v1/history")
    ]
    for secret in (WEBHOOK_SECRET, SMTP_PASSWORD):
        for path in files:
            assert secret.encode() not in path.read_bytes(), path
        assert secret not in daemon.log_text()
        assert all(secret not in answer for answer in answers)


def test_notify_test_and_an_update_reach_the_webhook_and_the_mailbox(
    shepherd_daemon: RunningDaemon, webhook: WebhookReceiver, smtp_server: SmtpServer
) -> None:
    daemon = shepherd_daemon
    untested = daemon.cli("notify", "test")
    assert untested.returncode == 1 and "No notice channel is configured" in untested.stdout
    _configure(daemon, webhook.url, smtp_server)

    tested = daemon.cli("notify", "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "webhook: sent" in tested.stdout and "email: sent" in tested.stdout
    test_delivery = webhook.wait_for(1)[0]
    assert test_delivery.signature_valid and test_delivery.notice["kind"] == "test"
    assert smtp_server.wait_for(1)[0]["Subject"].endswith("Test notice")
    assert smtp_server.logins == [(SMTP_USER, True)]

    update = daemon.cli("update", "--now")
    assert update.returncode == 0, update.stderr
    delivery = webhook.wait_for(2)[1]
    assert delivery.signature_valid
    assert delivery.notice["kind"] == "updated" and delivery.notice["agent"] == "default"
    assert "17.2.1" in delivery.notice["message"]
    mail = smtp_server.wait_for(2)[1]
    assert mail["Subject"].endswith("default: Agent updated")
    listing = daemon.cli("notify")
    assert "channels: webhook, email" in listing.stdout and "queued: 0" in listing.stdout
    _assert_secrets_nowhere(daemon)


@pytest.fixture
def silent_webhook() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TLS port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/hook", accepted
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def test_a_webhook_that_never_answers_does_not_hold_the_update_up(
    shepherd_daemon: RunningDaemon, silent_webhook: tuple[str, list[socket.socket]]
) -> None:
    url, accepted = silent_webhook
    _configure(shepherd_daemon, url, None)
    update = shepherd_daemon.cli("update", "--now")
    assert update.returncode == 0, update.stderr
    wait_until(lambda: bool(accepted), 60, "the daemon to try the webhook")
    # the update is done and reported while its notice is still waiting for an answer
    status = shepherd_daemon.api.get("/v1/agents/default")
    assert status["active"] == "17.2.1" and status["busy"] is None
    pending = shepherd_daemon.api.get("/v1/notify")["pending"]
    assert [(e["notice"]["kind"], e["attempts"]) for e in pending] == [("updated", 0)]
    wait_until(
        lambda: bool(shepherd_daemon.api.get("/v1/notify")["pending"][0]["attempts"]),
        60,
        "the silent webhook to time out and the notice to stay queued for a retry",
    )
    assert "timed out" in (shepherd_daemon.api.get("/v1/notify")["last_error"] or "")
