"""Downloads from the real nginx CDN over TLS: verify, refuse, resume, report progress."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from engine.errors import ArtifactError, InvalidInput
from engine.install.download import Progress, artifact_url, download_verified, fetch_checksum
from engine.sources.transport import TransportConfig, make_client
from engine.versions import Revision
from sandbox.agentbuild import Artifact
from sandbox.cdn import Cdn
from sandbox.certs import CertPair, SandboxCA
from sandbox.ports import wait_until
from tests.fixtures.artifacts import MIRROR_PASSWORD, MIRROR_TOKEN, MIRROR_USER

pytestmark = pytest.mark.integration
REPO = Path(__file__).parents[2]


@pytest.fixture
def client(sandbox_ca: SandboxCA) -> Iterator[httpx.Client]:
    with make_client(TransportConfig(ca_bundle=sandbox_ca.ca_path, trust_env=False)) as c:
        yield c


def test_url_template_matches_the_cdn_naming() -> None:
    assert artifact_url(Revision.of("17.2.1"), arch="amd64") == (
        "https://cdn.teleport.dev/teleport-v17.2.1-linux-amd64-bin.tar.gz"
    )
    assert (
        artifact_url(
            Revision.of("17.2.1", "Enterprise", "FIPS"),
            base_url="https://mirror.local/x/",
            arch="arm64",
        )
        == "https://mirror.local/x/teleport-ent-v17.2.1-linux-arm64-fips-bin.tar.gz"
    )
    with pytest.raises(InvalidInput, match="must use TLS"):
        artifact_url(Revision.of("17.2.1"), base_url="http://mirror.local")


def test_download_and_verify(
    cdn: Cdn, artifact_factory: Callable[..., Artifact], client: httpx.Client, tmp_path: Path
) -> None:
    artifact = artifact_factory("17.2.1", edition="ent", padding_bytes=3_000_000)
    url = artifact_url(Revision.of("17.2.1", "Enterprise"), base_url=cdn.base_url, arch="amd64")
    digest = fetch_checksum(client, url)
    assert digest == artifact.sha256
    reports: list[Progress] = []
    path = download_verified(client, url, tmp_path / "dl", digest, progress=reports.append)
    assert path.read_bytes() == artifact.path.read_bytes()
    assert reports[-1].bytes_done == reports[-1].bytes_total == artifact.path.stat().st_size
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == [artifact.name]


def test_wrong_checksum_is_refused_and_nothing_kept(
    cdn: Cdn, artifact_factory: Callable[..., Artifact], client: httpx.Client, tmp_path: Path
) -> None:
    artifact = artifact_factory("17.2.1")
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        download_verified(client, cdn.url(artifact.name), tmp_path / "dl", "0" * 64)
    assert list((tmp_path / "dl").iterdir()) == []


@pytest.mark.parametrize(
    "body", ["not a checksum\n", "abc123  short\n", "", "<html>404</html>"], ids=repr
)
def test_garbage_checksum_files_are_refused(
    cdn: Cdn,
    artifact_dir: Path,
    artifact_factory: Callable[..., Artifact],
    client: httpx.Client,
    body: str,
) -> None:
    artifact = artifact_factory("17.2.1")
    (artifact_dir / f"{artifact.name}.sha256").write_text(body)
    with pytest.raises(ArtifactError, match="does not start with a SHA-256"):
        fetch_checksum(client, cdn.url(artifact.name))


def test_missing_checksum_file_is_an_error(cdn: Cdn, client: httpx.Client) -> None:
    with pytest.raises(ArtifactError, match="404"):
        fetch_checksum(client, cdn.url("teleport-v9.9.9-linux-amd64-bin.tar.gz"))


def test_private_mirror_with_basic_auth(
    cdn_basic_auth: Cdn,
    artifact_factory: Callable[..., Artifact],
    sandbox_ca: SandboxCA,
    tmp_path: Path,
) -> None:
    artifact = artifact_factory("17.2.1")
    ctx = ssl.create_default_context(cafile=str(sandbox_ca.ca_path))
    with httpx.Client(verify=ctx, auth=(MIRROR_USER, MIRROR_PASSWORD)) as authed:
        url = cdn_basic_auth.url(artifact.name)
        path = download_verified(authed, url, tmp_path / "dl", fetch_checksum(authed, url))
        assert path.stat().st_size == artifact.path.stat().st_size


def test_private_mirror_with_bearer_token(
    cdn_bearer: Cdn,
    artifact_factory: Callable[..., Artifact],
    client: httpx.Client,
    tmp_path: Path,
) -> None:
    artifact = artifact_factory("17.2.1")
    url = cdn_bearer.url(artifact.name)
    with pytest.raises(ArtifactError, match="401"):
        download_verified(client, url, tmp_path / "dl", artifact.sha256)
    headers = {"Authorization": f"Bearer {MIRROR_TOKEN}"}
    path = download_verified(client, url, tmp_path / "dl", artifact.sha256, headers=headers)
    assert path.exists()


class _ShortBodyServer:
    """A real TLS server that promises a body and closes the connection half-way."""

    def __init__(self, cert: CertPair, body: bytes) -> None:
        self.body = body
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            raw, _ = self.sock.accept()
        except OSError:
            return
        with self.ctx.wrap_socket(raw, server_side=True) as conn:
            conn.recv(65536)
            head = f'HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\nETag: "v1"\r\n\r\n'
            conn.sendall(head.encode() + self.body[: len(self.body) // 2])

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_truncated_body_is_an_error_and_the_part_is_kept_for_resume(
    server_cert: CertPair, client: httpx.Client, tmp_path: Path
) -> None:
    body = os.urandom(200_000)
    server = _ShortBodyServer(server_cert, body)
    try:
        url = f"https://127.0.0.1:{server.port}/teleport-v17.2.1-linux-amd64-bin.tar.gz"
        with pytest.raises(ArtifactError, match=r"broke off|ended early"):
            download_verified(client, url, tmp_path / "dl", "0" * 64)
    finally:
        server.close()
    part = tmp_path / "dl" / "teleport-v17.2.1-linux-amd64-bin.tar.gz.part"
    assert 0 < part.stat().st_size < len(body)


DOWNLOADER = """
import sys
from pathlib import Path
from engine.install.download import download_verified
from engine.sources.transport import TransportConfig, make_client
client = make_client(TransportConfig(ca_bundle=Path(sys.argv[1]), trust_env=False))
download_verified(client, sys.argv[2], Path(sys.argv[3]), sys.argv[4])
"""


def test_killed_mid_download_resumes_with_range(
    artifact_dir: Path,
    artifact_factory: Callable[..., Artifact],
    server_cert: CertPair,
    sandbox_ca: SandboxCA,
    client: httpx.Client,
    tmp_path: Path,
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=4_000_000)
    slow = Cdn(artifact_dir, server_cert, workdir=tmp_path / "slow", rate_limit="2m")
    dest = tmp_path / "dl"
    part = dest / f"{artifact.name}.part"
    with slow:
        url = slow.url(artifact.name)
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                DOWNLOADER,
                str(sandbox_ca.ca_path),
                url,
                str(dest),
                artifact.sha256,
            ],
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            wait_until(lambda: part.exists() and part.stat().st_size > 500_000, 30, "progress")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        partial = part.stat().st_size
        assert 0 < partial < artifact.path.stat().st_size
    with Cdn(artifact_dir, server_cert, workdir=tmp_path / "fast") as fast:
        path = download_verified(client, fast.url(artifact.name), dest, artifact.sha256)
        ranges = [line for line in fast.access_log_lines() if '"bytes=' in line]
    assert path.read_bytes() == artifact.path.read_bytes()
    assert len(ranges) == 1
    assert " 206 " in ranges[0]
    assert not part.exists()


def test_a_changed_file_restarts_instead_of_resuming(
    cdn: Cdn,
    artifact_dir: Path,
    artifact_factory: Callable[..., Artifact],
    client: httpx.Client,
    tmp_path: Path,
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=100_000)
    dest = tmp_path / "dl"
    dest.mkdir()
    (dest / f"{artifact.name}.part").write_bytes(b"stale bytes from another build")
    (dest / f"{artifact.name}.part.etag").write_text('"stale-etag"')
    path = download_verified(client, cdn.url(artifact.name), dest, artifact.sha256)
    assert path.read_bytes() == artifact.path.read_bytes()


def test_disk_full_during_download_is_named_and_leaves_nothing(
    cdn: Cdn, artifact_factory: Callable[..., Artifact], sandbox_ca: SandboxCA, tmp_path: Path
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=2_000_000)
    dest = tmp_path / "dl"
    script = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (500000, 500000))\n" + DOWNLOADER
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(sandbox_ca.ca_path),
            cdn.url(artifact.name),
            str(dest),
            artifact.sha256,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode != 0
    assert "not enough space" in result.stderr
    assert list(dest.iterdir()) == []
