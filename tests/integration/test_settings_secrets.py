"""Settings + secrets against real servers: the cluster through the authenticated tinyproxy,
a download from a token-protected nginx mirror, and notices to a signed webhook and an SMTP
server with a login, each credential only from the file keyring; afterwards the secret
occurs in no file under the host root."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.errors import ArtifactError, TransportError
from engine.install.download import artifact_url, download_verified, fetch_checksum
from engine.notify import Notice, Notifier, NotifyConfig
from engine.settings.file import SettingsFile
from engine.settings.model import Settings, transport_config
from engine.settings.secrets import SecretStore, mirror_headers, open_store
from engine.sources.find import find
from engine.sources.transport import make_client, open_stream
from engine.update.effective import effective_settings
from engine.versions import Revision
from sandbox.agentbuild import Artifact
from sandbox.cdn import Cdn
from sandbox.certs import CertPair, SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.notices import SmtpServer, WebhookReceiver
from sandbox.proxy import TinyProxy
from tests.fixtures.artifacts import MIRROR_TOKEN
from tests.fixtures.network import PROXY_PASSWORD, PROXY_USER
from tests.fixtures.notify import SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET

pytestmark = pytest.mark.integration


@pytest.fixture
def host_root(tmp_path: Path) -> Path:
    """The host's root (settings, secret store, downloads), apart from the servers' dirs
    (whose configs hold the test credentials on purpose)."""
    root = tmp_path / "host"
    root.mkdir()
    return root


def _store(root: Path, settings: Settings) -> SecretStore:
    return open_store(settings.get_choice("secrets.backend"), root=root)


def _assert_not_under(root: Path, secret: str) -> None:
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert files, "the check must look at something"
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


def test_cluster_through_the_authenticated_proxy_with_the_password_from_the_store(
    emulator: ClusterEmulator, sandbox_ca: SandboxCA, tinyproxy_auth: TinyProxy, host_root: Path
) -> None:
    settings_file = SettingsFile(host_root)
    settings = settings_file.update(
        {
            "secrets.backend": "file",
            "network.http_proxy": tinyproxy_auth.url,
            "network.proxy_user": PROXY_USER,
            "network.ca_bundle": str(sandbox_ca.ca_path),
        }
    )
    store = _store(host_root, settings)

    # No password stored yet: the proxy refuses.
    with (
        make_client(transport_config(settings, store, timeout_seconds=5)) as client,
        pytest.raises(TransportError, match=r"proxy.*40[17]|40[17].*proxy"),
    ):
        find(client, emulator.proxy_addr)

    store.set("proxy-password", PROXY_PASSWORD)
    reloaded = SettingsFile(host_root).load()
    config = transport_config(reloaded, _store(host_root, reloaded), timeout_seconds=5)
    assert PROXY_PASSWORD not in repr(config)
    with make_client(config) as client:
        assert find(client, emulator.proxy_addr).cluster_name == "sandbox.example.com"
    tinyproxy_auth.wait_for_log(f"CONNECT 127.0.0.1:{emulator.port}")

    # A wrong password replaced in the store is used as it is: refused again.
    store.set("proxy-password", "wrong-" + PROXY_PASSWORD)
    with (
        make_client(transport_config(settings, store, timeout_seconds=5)) as client,
        pytest.raises(TransportError, match=r"proxy.*40[17]|40[17].*proxy"),
    ):
        find(client, emulator.proxy_addr)
    _assert_not_under(host_root, PROXY_PASSWORD)


def test_download_from_a_token_protected_mirror_with_the_token_from_the_store(
    cdn_bearer: Cdn,
    artifact_factory: Callable[..., Artifact],
    sandbox_ca: SandboxCA,
    host_root: Path,
) -> None:
    artifact = artifact_factory("17.2.1")
    settings = SettingsFile(host_root).update(
        {"download.base_url": cdn_bearer.base_url, "network.ca_bundle": str(sandbox_ca.ca_path)}
    )
    store = _store(host_root, settings)
    url = artifact_url(
        Revision.of("17.2.1"),
        base_url=effective_settings(settings, None, "default").base_url.value,
        arch="amd64",
    )
    downloads = host_root / "opt" / "teleport" / "default" / "downloads"
    with make_client(transport_config(settings, store)) as client:
        assert mirror_headers(store, "default") == {}
        with pytest.raises(ArtifactError, match="401"):
            fetch_checksum(client, url, headers=mirror_headers(store, "default"))

        store.set("mirror-token", MIRROR_TOKEN)
        headers = mirror_headers(store, "default")
        digest = fetch_checksum(client, url, headers=headers)
        assert digest == artifact.sha256
        path = download_verified(client, url, downloads, digest, headers=headers)
    assert path.read_bytes() == artifact.path.read_bytes()
    statuses = [line.split()[-3] for line in cdn_bearer.access_log_lines()]
    assert statuses == ["401", "200", "200"]
    _assert_not_under(host_root, MIRROR_TOKEN)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]]
    redirect_to: str | None

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if type(self).redirect_to:
            self.send_response(302)
            self.send_header("Location", f"{type(self).redirect_to}{self.path}")
            self.send_header("Content-Length", "0")
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
        self.end_headers()
        if not type(self).redirect_to:
            self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _tls_server(cert: CertPair, redirect_to: str | None) -> tuple[ThreadingHTTPServer, type]:
    handler = type("Handler", (_Recorder,), {"seen": [], "redirect_to": redirect_to})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


@pytest.fixture
def redirecting_mirror(server_cert: CertPair) -> Iterator[tuple[str, type, type]]:
    """A mirror on 127.0.0.1 that redirects everything to another origin (localhost)."""
    target, target_handler = _tls_server(server_cert, None)
    other = f"https://localhost:{target.server_address[1]}"
    mirror, mirror_handler = _tls_server(server_cert, other)
    try:
        yield f"https://127.0.0.1:{mirror.server_address[1]}", mirror_handler, target_handler
    finally:
        for server in (mirror, target):
            server.shutdown()
            server.server_close()


def test_the_mirror_token_is_not_sent_to_another_host_after_a_redirect(
    redirecting_mirror: tuple[str, type, type], sandbox_ca: SandboxCA, host_root: Path
) -> None:
    base, mirror, target = redirecting_mirror
    settings = SettingsFile(host_root).update(
        {"download.base_url": base, "network.ca_bundle": str(sandbox_ca.ca_path)}
    )
    store = _store(host_root, settings)
    store.set("mirror-token", MIRROR_TOKEN)
    with (
        make_client(transport_config(settings, store)) as client,
        open_stream(client, f"{base}/file", headers=mirror_headers(store)) as response,
    ):
        assert response.read() == b"ok"
    assert mirror.seen == [("/file", f"Bearer {MIRROR_TOKEN}")]
    assert target.seen == [("/file", None)]


def test_the_webhook_secret_and_smtp_password_are_used_and_stored_nowhere_else(
    webhook: WebhookReceiver, smtp_server: SmtpServer, sandbox_ca: SandboxCA, host_root: Path
) -> None:
    settings = SettingsFile(host_root).update(
        {
            "network.ca_bundle": str(sandbox_ca.ca_path),
            "notifications.webhook_url": webhook.url,
            "notifications.smtp_server": smtp_server.address,
            "notifications.smtp_user": SMTP_USER,
            "notifications.email_from": "shepherd@host.example",
            "notifications.email_to": "admin@example.com",
        }
    )
    store = _store(host_root, settings)
    store.set("webhook-secret", WEBHOOK_SECRET)
    store.set("smtp-password", SMTP_PASSWORD)
    config = NotifyConfig.from_settings(settings, store, transport_config(settings, store))
    assert WEBHOOK_SECRET not in repr(config) and SMTP_PASSWORD not in repr(config)
    notifier = Notifier(host_root / "var/lib/shepherd", lambda: config)
    notifier.start()
    try:
        notifier.submit(Notice.new("updated", agent="default", title="Agent updated", message="."))
        assert webhook.wait_for(1)[0].signature_valid
        assert smtp_server.wait_for(1) and smtp_server.logins == [(SMTP_USER, True)]
    finally:
        notifier.stop()
    for secret in (WEBHOOK_SECRET, SMTP_PASSWORD):
        _assert_not_under(host_root, secret)
