"""The download client reads TLS in batches (engine/sources/batched_reads.py), against the
real nginx CDN and a real stalling TLS server: same bytes, same timeouts, same errors."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.errors import ArtifactError
from engine.install.download import artifact_url, download_verified
from engine.sources.batched_reads import BATCH_BYTES, BatchedReads
from engine.sources.transport import TransportConfig, make_client
from engine.versions import Revision
from sandbox.agentbuild import Artifact
from sandbox.cdn import Cdn
from sandbox.certs import CertPair, SandboxCA

pytestmark = pytest.mark.integration
TLS_RECORD = 16384


def test_every_transport_of_the_client_reads_in_batches() -> None:
    # a pinned httpx/httpcore that moves the attribute would silently lose the speed-up
    direct = make_client(TransportConfig(trust_env=False))
    proxied = make_client(TransportConfig(proxy_url="http://127.0.0.1:3128"))
    pools = [direct._transport, proxied._transport, *proxied._mounts.values()]
    backends = [getattr(getattr(t, "_pool", None), "_network_backend", None) for t in pools]
    assert all(isinstance(backend, BatchedReads) for backend in backends), backends


def test_a_download_arrives_in_batches_of_many_records_with_the_same_bytes(
    cdn: Cdn, artifact_factory: Callable[..., Artifact], sandbox_ca: SandboxCA, tmp_path: Path
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=12_000_000)
    url = artifact_url(Revision.of("17.2.1"), base_url=cdn.base_url, arch="amd64")
    config = TransportConfig(ca_bundle=sandbox_ca.ca_path, trust_env=False)
    with make_client(config) as client:
        digest, sizes = hashlib.sha256(), []
        with client.stream("GET", url) as response:
            for chunk in response.iter_raw():
                digest.update(chunk)
                sizes.append(len(chunk))
        assert digest.hexdigest() == artifact.sha256
        assert max(sizes) > TLS_RECORD  # more than one TLS record per read
        assert max(sizes) <= BATCH_BYTES + 65536
        path = download_verified(client, url, tmp_path / "dl", artifact.sha256)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact.sha256


class _StallingServer:
    """One TLS connection: headers and 100 kB of a 1 MB body, then silence until closed."""

    def __init__(self, cert: CertPair) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            raw, _ = self.sock.accept()
            with self.ctx.wrap_socket(raw, server_side=True) as conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                conn.sendall(b"x" * 100_000)
                self.done.wait(30)

    def close(self) -> None:
        self.done.set()
        self.sock.close()
        self.thread.join(timeout=10)


@pytest.fixture
def stalling(server_cert: CertPair) -> Iterator[_StallingServer]:
    server = _StallingServer(server_cert)
    try:
        yield server
    finally:
        server.close()


def test_a_stalled_transfer_still_times_out_and_keeps_what_arrived(
    stalling: _StallingServer, sandbox_ca: SandboxCA, tmp_path: Path
) -> None:
    config = TransportConfig(ca_bundle=sandbox_ca.ca_path, trust_env=False, timeout_seconds=1)
    url = f"https://127.0.0.1:{stalling.port}/t.tar.gz"
    started = time.monotonic()
    with (
        make_client(config) as client,
        pytest.raises(ArtifactError, match=r"broke off after 100000 bytes"),
    ):
        download_verified(client, url, tmp_path / "dl", "0" * 64)
    assert time.monotonic() - started < 10
    assert (tmp_path / "dl" / "t.tar.gz.part").stat().st_size == 100_000


def test_plain_http_streams_are_left_to_httpcore() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with make_client(TransportConfig(trust_env=False)) as client:
        assert client.get(f"http://127.0.0.1:{port}/").content == b"hello"
    thread.join(timeout=10)
    server.close()
