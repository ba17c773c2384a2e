"""Every download is bounded: its size (a refused one leaves no part file), its total time
and its rate, against the real nginx CDN (throttled with ``limit_rate``); stale partial
downloads are deleted. The endless body without Content-Length comes from a small TLS
server here, as nginx always sends a length for a static file."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from engine.errors import ArtifactError
from engine.install.download import DownloadLimits, download_verified
from engine.sources.transport import TransportConfig, make_client
from sandbox.agentbuild import Artifact
from sandbox.cdn import Cdn
from sandbox.certs import CertPair, SandboxCA

pytestmark = pytest.mark.integration
DAY = 24 * 3600


@pytest.fixture
def client(sandbox_ca: SandboxCA) -> Iterator[httpx.Client]:
    with make_client(TransportConfig(ca_bundle=sandbox_ca.ca_path, trust_env=False)) as c:
        yield c


class _EndlessServer:
    """One TLS connection: a 200 with no Content-Length, then bytes until the client goes."""

    def __init__(self, cert: CertPair) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.port}/{name}"

    def _serve(self) -> None:
        try:
            raw, _ = self.sock.accept()
        except OSError:
            return
        with contextlib.suppress(OSError), self.ctx.wrap_socket(raw, server_side=True) as conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            block = os.urandom(65536)
            while True:
                conn.sendall(block)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=10)


@pytest.fixture
def endless(server_cert: CertPair) -> Iterator[_EndlessServer]:
    server = _EndlessServer(server_cert)
    try:
        yield server
    finally:
        server.close()


def test_an_endless_body_is_refused_at_the_size_limit_and_leaves_no_part(
    endless: _EndlessServer, client: httpx.Client, tmp_path: Path
) -> None:
    dest = tmp_path / "dl"
    with pytest.raises(ArtifactError, match=r"larger than the limit of 1000000 bytes"):
        download_verified(
            client, endless.url("t.tar.gz"), dest, "0" * 64, limits=DownloadLimits(1_000_000)
        )
    assert list(dest.iterdir()) == []


def test_without_a_content_length_the_space_check_asks_for_the_size_limit(
    endless: _EndlessServer, client: httpx.Client, tmp_path: Path
) -> None:
    dest = tmp_path / "dl"
    # the limit (1 PiB) plus the 10 MB margin
    with pytest.raises(ArtifactError, match=r"not enough disk space in .*need 1073741834\.0 MB"):
        download_verified(
            client, endless.url("t.tar.gz"), dest, "0" * 64, limits=DownloadLimits(1 << 50)
        )
    assert list(dest.iterdir()) == []


def test_a_too_slow_cdn_is_named_with_the_rate_seen(
    artifact_dir: Path,
    artifact_factory: Callable[..., Artifact],
    server_cert: CertPair,
    client: httpx.Client,
    tmp_path: Path,
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=500_000)
    limits = DownloadLimits(min_rate_bps=64 * 1024, rate_window_seconds=2)
    with (
        Cdn(artifact_dir, server_cert, workdir=tmp_path / "slow", rate_limit="8k") as slow,
        pytest.raises(ArtifactError) as refused,
    ):
        download_verified(client, slow.url(artifact.name), tmp_path / "dl", artifact.sha256,
                          limits=limits)  # fmt: skip
    message = str(refused.value)
    assert "the download from 127.0.0.1 is too slow" in message
    assert "below the minimum of 64.0 KiB/s" in message
    seen = float(message.split("too slow: ")[1].split(" KiB/s", maxsplit=1)[0])
    assert seen < 64, message  # nginx sends 8 KiB/s (plus its first burst)
    assert (tmp_path / "dl" / f"{artifact.name}.part").exists()  # kept: the next one resumes


def test_a_download_past_its_total_deadline_is_stopped(
    artifact_dir: Path,
    artifact_factory: Callable[..., Artifact],
    server_cert: CertPair,
    client: httpx.Client,
    tmp_path: Path,
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=1_000_000)
    limits = DownloadLimits(total_seconds=1.5, min_rate_bps=0)
    with Cdn(artifact_dir, server_cert, workdir=tmp_path / "slow", rate_limit="100k") as slow:
        started = time.monotonic()
        with pytest.raises(ArtifactError, match=r"from 127\.0\.0\.1 did not finish within 1.5 s"):
            download_verified(client, slow.url(artifact.name), tmp_path / "dl", artifact.sha256,
                              limits=limits)  # fmt: skip
    assert time.monotonic() - started < 60


def test_stale_partials_and_those_of_other_targets_are_deleted(
    cdn: Cdn, artifact_factory: Callable[..., Artifact], client: httpx.Client, tmp_path: Path
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=100_000)
    dest = tmp_path / "dl"
    dest.mkdir()
    other = dest / "teleport-v16.0.0-linux-amd64-bin.tar.gz.part"
    other.write_bytes(b"x" * 1000)
    (dest / f"{other.name}.etag").write_text('"old"')
    ours = dest / f"{artifact.name}.part"
    ours.write_bytes(artifact.path.read_bytes()[:50_000])
    (dest / f"{ours.name}.etag").write_text(client.head(cdn.url(artifact.name)).headers["etag"])
    two_days_ago = time.time() - 2 * DAY
    for path in (ours, dest / f"{ours.name}.etag"):
        os.utime(path, (two_days_ago, two_days_ago))
    path = download_verified(client, cdn.url(artifact.name), dest, artifact.sha256)
    assert path.read_bytes() == artifact.path.read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [artifact.name]
    # the day-old part was not resumed, though its ETag still matched
    assert not [line for line in cdn.access_log_lines() if '"bytes=' in line]
