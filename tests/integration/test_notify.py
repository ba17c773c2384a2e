"""Notices against real receivers: a local HTTPS webhook that checks the HMAC-SHA256
signature, and aiosmtpd with STARTTLS and a login (both with certificates of the sandbox CA,
trusted through network.ca_bundle). Secrets come from the file keyring."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.notify import QUEUE_FILE, Notice, Notifier, NotifyConfig, RetryPolicy
from engine.settings.file import SettingsFile
from engine.settings.model import transport_config
from engine.settings.secrets import SecretStore, open_store
from sandbox.certs import CertPair, SandboxCA
from sandbox.notices import SmtpServer, WebhookReceiver
from sandbox.ports import wait_until
from tests.fixtures.notify import SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET

pytestmark = pytest.mark.integration

FAST = RetryPolicy(first_delay=0.05, max_delay=0.2, max_attempts=4, capacity=50)


@pytest.fixture
def host_root(tmp_path: Path) -> Path:
    root = tmp_path / "host"
    root.mkdir()
    return root


@pytest.fixture
def store(host_root: Path) -> SecretStore:
    return open_store("file", root=host_root)


ConfigFactory = Callable[[dict[str, str | None]], Callable[[], NotifyConfig]]


@pytest.fixture
def configure(host_root: Path, store: SecretStore, sandbox_ca: SandboxCA) -> ConfigFactory:
    """Write settings (with the sandbox CA) and answer the notifier's config callable, which
    reads the settings file afresh each time, like the daemon after a change."""

    def make(changes: dict[str, str | None]) -> Callable[[], NotifyConfig]:
        settings_file = SettingsFile(host_root)
        settings_file.update({"network.ca_bundle": str(sandbox_ca.ca_path), **changes})

        def current() -> NotifyConfig:
            settings = settings_file.load()
            return NotifyConfig.from_settings(settings, store, transport_config(settings, store))

        return current

    return make


@pytest.fixture
def notifiers(host_root: Path) -> Iterator[Callable[..., Notifier]]:
    started: list[Notifier] = []

    def start(config: Callable[[], NotifyConfig], retry: RetryPolicy = FAST) -> Notifier:
        notifier = Notifier(host_root / "var/lib/shepherd", config, retry=retry)
        notifier.start()
        started.append(notifier)
        return notifier

    yield start
    for notifier in started:
        notifier.stop()


def _failed(agent: str = "staging") -> Notice:
    return Notice.new(
        "failed", agent=agent, level="error", title="Update failed", message="17.3.0 crashed"
    )


def _queue_file(host_root: Path) -> Path:
    return host_root / "var/lib/shepherd" / QUEUE_FILE


def _queued(host_root: Path) -> list[dict[str, object]]:
    path = _queue_file(host_root)
    return list(json.loads(path.read_text())["pending"]) if path.exists() else []


def test_a_webhook_notice_is_signed_and_retried_until_the_receiver_takes_it(
    webhook: WebhookReceiver,
    store: SecretStore,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
    host_root: Path,
) -> None:
    store.set("webhook-secret", WEBHOOK_SECRET)
    notifier = notifiers(configure({"notifications.webhook_url": webhook.url}))
    webhook.fail_next(2)
    notice = _failed()
    notifier.submit(notice)

    deliveries = webhook.wait_for(3)
    assert [d.status for d in deliveries] == [503, 503, 200]
    assert all(d.signature_valid for d in deliveries)
    assert {d.headers["x-shepherd-delivery"] for d in deliveries} == {notice.id}
    body = deliveries[-1].notice
    assert body["kind"] == "failed" and body["agent"] == "staging"
    assert body["title"] == "Update failed" and body["message"] == "17.3.0 crashed"
    assert body["time"].endswith("Z") and body["host"] == socket.gethostname()
    wait_until(lambda: _queued(host_root) == [], 30, "the delivered notice to leave the queue")


def test_only_the_kinds_a_channel_wants_are_sent(
    webhook: WebhookReceiver,
    store: SecretStore,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
) -> None:
    store.set("webhook-secret", WEBHOOK_SECRET)
    config = configure(
        {"notifications.webhook_url": webhook.url, "notifications.webhook_kinds": "failed"}
    )
    notifier = notifiers(config)
    notifier.submit(Notice.new("updated", agent="staging", title="Agent updated", message="ok"))
    notifier.submit(_failed())
    deliveries = webhook.wait_for(1)
    assert [d.notice["kind"] for d in deliveries] == ["failed"]  # in order: updated was skipped


def test_queued_notices_survive_a_restart_and_are_delivered_then(
    webhook: WebhookReceiver,
    store: SecretStore,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
    host_root: Path,
) -> None:
    store.set("webhook-secret", WEBHOOK_SECRET)
    webhook.always(503)
    slow = RetryPolicy(first_delay=3600, max_delay=3600, max_attempts=5, capacity=50)
    first = notifiers(configure({"notifications.webhook_url": webhook.url}), slow)
    notice = _failed()
    first.submit(notice)
    wait_until(
        lambda: [e["attempts"] for e in _queued(host_root)] == [1], 30, "one failed try queued"
    )
    first.stop()
    assert _queue_file(host_root).stat().st_mode & 0o777 == 0o600

    webhook.always(None)
    second = notifiers(configure({"notifications.webhook_url": webhook.url}))
    assert [e["channel"] for e in second.status()["pending"]] == ["webhook"]
    deliveries = webhook.wait_for(2)
    assert [d.status for d in deliveries] == [503, 200]
    assert deliveries[-1].headers["x-shepherd-delivery"] == notice.id
    wait_until(lambda: _queued(host_root) == [], 30, "the queue to empty after the restart")


def test_the_queue_is_bounded_and_drops_the_oldest(
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
    store: SecretStore,
    host_root: Path,
) -> None:
    store.set("webhook-secret", WEBHOOK_SECRET)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        _fill_the_queue(
            f"https://127.0.0.1:{closed.getsockname()[1]}/hook", configure, notifiers, host_root
        )


def _fill_the_queue(
    url: str, configure: ConfigFactory, notifiers: Callable[..., Notifier], host_root: Path
) -> None:
    retry = RetryPolicy(first_delay=3600, max_delay=3600, max_attempts=5, capacity=3)
    notifier = notifiers(configure({"notifications.webhook_url": url}), retry)
    notices = [_failed(f"agent-{n}") for n in range(5)]
    for notice in notices:
        notifier.submit(notice)
    wanted = [n.id for n in notices[2:]]

    def only_the_newest() -> bool:
        return [e["notice"]["id"] for e in _queued(host_root)] == wanted  # type: ignore[index]

    wait_until(only_the_newest, 30, "the three newest notices queued")
    assert "refused" in (notifier.status()["last_error"] or "")


def test_without_the_webhook_secret_nothing_is_sent_and_the_reason_is_said(
    webhook: WebhookReceiver,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
    host_root: Path,
) -> None:
    notifier = notifiers(configure({"notifications.webhook_url": webhook.url}))
    result = notifier.send_test()
    assert result["channels"]["webhook"]["ok"] is False
    assert "webhook-secret" in result["channels"]["webhook"]["message"]
    notifier.submit(_failed())
    wait_until(lambda: notifier.status()["last_error"] is not None, 30, "the refusal")
    assert _queued(host_root) == []  # a permanent failure is not retried
    assert webhook.deliveries == []


def _email_settings(smtp: SmtpServer) -> dict[str, str | None]:
    return {
        "notifications.smtp_server": smtp.address,
        "notifications.smtp_user": SMTP_USER,
        "notifications.email_from": "shepherd@host.example",
        "notifications.email_to": "admin@example.com, oncall@example.com",
    }


def test_an_email_notice_goes_over_starttls_with_the_password_from_the_keyring(
    smtp_server: SmtpServer,
    store: SecretStore,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
) -> None:
    store.set("smtp-password", SMTP_PASSWORD)
    notifier = notifiers(configure(_email_settings(smtp_server)))
    notifier.submit(_failed())
    message = smtp_server.wait_for(1)[0]
    assert message["Subject"] == f"[shepherd] {socket.gethostname()}: staging: Update failed"
    assert message["To"] == "admin@example.com, oncall@example.com"
    assert "17.3.0 crashed" in message.get_content()
    assert smtp_server.logins == [(SMTP_USER, True)]
    assert smtp_server.inbox.envelopes == [
        ("shepherd@host.example", ["admin@example.com", "oncall@example.com"], True)
    ]


def test_a_wrong_smtp_password_is_refused_and_not_retried(
    smtp_server: SmtpServer,
    store: SecretStore,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
    host_root: Path,
) -> None:
    store.set("smtp-password", "wrong-" + SMTP_PASSWORD)
    notifier = notifiers(configure(_email_settings(smtp_server)))
    result = notifier.send_test()["channels"]["email"]
    assert result["ok"] is False and "refused the login" in result["message"]
    assert smtp_server.inbox.messages == []


def test_a_server_without_starttls_gets_neither_mail_nor_password(
    server_cert: CertPair,
    store: SecretStore,
    configure: ConfigFactory,
    notifiers: Callable[..., Notifier],
) -> None:
    store.set("smtp-password", SMTP_PASSWORD)
    with SmtpServer(server_cert, user=SMTP_USER, password=SMTP_PASSWORD, starttls=False) as plain:
        notifier = notifiers(configure(_email_settings(plain)))
        result = notifier.send_test()["channels"]["email"]
        assert result["ok"] is False and "offers no STARTTLS" in result["message"]
        assert plain.inbox.messages == [] and plain.logins == []


def test_an_untrusted_smtp_certificate_is_refused(
    smtp_server: SmtpServer,
    store: SecretStore,
    host_root: Path,
    tmp_path: Path,
    notifiers: Callable[..., Notifier],
) -> None:
    store.set("smtp-password", SMTP_PASSWORD)
    other = SandboxCA.other_ca(tmp_path / "other-ca")
    settings_file = SettingsFile(host_root)
    settings = settings_file.update(
        {"network.ca_bundle": str(other.ca_path), **_email_settings(smtp_server)}
    )
    notifier = notifiers(
        lambda: NotifyConfig.from_settings(settings, store, transport_config(settings, store))
    )
    result = notifier.send_test()["channels"]["email"]
    assert result["ok"] is False and "not trusted" in result["message"]
    assert smtp_server.logins == [] and smtp_server.inbox.messages == []


def test_email_without_recipients_is_named_as_a_problem(
    smtp_server: SmtpServer, configure: ConfigFactory, notifiers: Callable[..., Notifier]
) -> None:
    config = configure({"notifications.smtp_server": smtp_server.address})
    result = notifiers(config).send_test()
    assert result["channels"] == {}
    assert "notifications.email_from and notifications.email_to" in result["problems"][0]
