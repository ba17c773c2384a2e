"""Settings and secrets through the daemon: the CLI sets them, the daemon uses them for a
real update through the authenticated tinyproxy from a token-protected nginx mirror, and
afterwards neither secret is anywhere it must not be."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.cdn import BearerToken, Cdn
from sandbox.certs import CertPair
from sandbox.emulator import ClusterEmulator
from sandbox.proxy import TinyProxy
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.network import PROXY_PASSWORD, PROXY_USER
from tests.fixtures.sandboxhost import SandboxHost, readyz_pid

pytestmark = pytest.mark.integration
TOKEN = "mirror-T0ken-9f8e7d6c5b4a"


def set_secret(daemon: RunningDaemon, name: str, value: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "--socket", str(daemon.socket), "secret", "set",
         name],
        input=value + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def mirror(sandbox_host: SandboxHost, server_cert: CertPair, tmp_path: Path) -> Iterator[Cdn]:
    with Cdn(
        sandbox_host.cdn.root, server_cert, workdir=tmp_path / "mirror", auth=BearerToken(TOKEN)
    ) as cdn:
        yield cdn


@pytest.fixture
def daemon_without_cdn(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> Iterator[RunningDaemon]:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    daemon = start_daemon(sandbox_host, cluster, without=("--base-url", "--ca-bundle"))
    try:
        yield daemon
    finally:
        daemon.stop()


def test_bad_settings_are_refused_naming_the_value_and_change_nothing(
    daemon_without_cdn: RunningDaemon,
) -> None:
    daemon = daemon_without_cdn
    assert daemon.cli("settings", "set", "canary.soak=2h").returncode == 0
    path = daemon.host.root / "etc/shepherd/settings.toml"
    before = path.read_bytes()
    for assignment, named in (
        ("download.base_url=http://mirror.example", "http://mirror.example"),
        ("network.ca_bundle=/nonexistent/ca.pem", "/nonexistent/ca.pem"),
        ("agents.default.windows=someday 25:00 1h", "someday"),
        ("canary.soak=forever", "forever"),
        ("network.http_proxy=http://user:pw@proxy:3128", "network.http_proxy"),
        ("no.such.key=1", "no.such.key"),
    ):
        done = daemon.cli("settings", "set", "canary.soak=3h", assignment)
        assert done.returncode == 2, (assignment, done.stdout, done.stderr)
        assert named in done.stderr
        assert path.read_bytes() == before  # all or nothing: 3h was not written either
    assert daemon.cli("settings", "get", "canary.soak").stdout.strip() == "2h"

    ca = f"network.ca_bundle={daemon.host.ca.ca_path}"
    assert daemon.cli("settings", "set", "agents.default.group=staging", ca).returncode == 0
    agent = json.loads(daemon.cli("status", "default", "--json").stdout)
    assert agent["group"] == "staging"  # what Shepherd really sends, not update.yaml's
    daemon.cli("check")
    finds = [r for r in daemon.cluster.requests() if r.path == "/webapi/find"]
    assert finds[-1].query["group"] == "staging"

    path.write_text(path.read_text() + "\n[policy]\npoll_interval = 'often'\n")  # a hand edit
    status = daemon.cli("status")
    assert status.returncode == 0
    check = daemon.cli("check")
    assert check.returncode in (0, 1)
    status = daemon.cli("status").stdout
    assert "'often'" in status and "previous settings are still in use" in status


def test_update_through_the_authenticated_proxy_from_the_private_mirror_leaks_nothing(
    sandbox_host: SandboxHost,
    cluster: ClusterEmulator,
    tinyproxy_auth: TinyProxy,
    mirror: Cdn,
) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    daemon = start_daemon(sandbox_host, cluster, without=("--base-url", "--ca-bundle"))
    try:
        configured = daemon.cli(
            "settings", "set",
            f"network.http_proxy={tinyproxy_auth.url}",
            f"network.proxy_user={PROXY_USER}",
            f"network.ca_bundle={sandbox_host.ca.ca_path}",
            f"download.base_url={mirror.base_url}",
        )  # fmt: skip
        assert configured.returncode == 0, configured.stderr

        refused = json.loads(daemon.cli("update", "default", "--now", "--json").stdout)
        assert refused["decision"]["reason"] == "cluster-unreachable"  # no proxy password yet

        assert set_secret(daemon, "proxy-password", PROXY_PASSWORD).returncode == 0
        no_token = json.loads(daemon.cli("update", "default", "--now", "--json").stdout)
        assert not no_token["outcome"]["ok"] and "401" in no_token["outcome"]["message"]

        assert set_secret(daemon, "mirror-token", TOKEN).returncode == 0
        listing = daemon.cli("secret", "list").stdout
        assert "proxy-password: stored" in listing and "mirror-token: stored" in listing

        update = daemon.cli("update", "--now")
        assert update.returncode == 0, update.stdout + update.stderr
        layout = sandbox_host.layouts["default"]
        assert readyz_pid(layout) == sandbox_host.wait_healthy(layout)
        assert sandbox_host.running_version(layout) == "17.2.1"
        tinyproxy_auth.wait_for_log(f"CONNECT 127.0.0.1:{cluster.port}")
        tinyproxy_auth.wait_for_log(f"CONNECT 127.0.0.1:{mirror.port}")
        assert any(" 200 " in line for line in mirror.access_log_lines())

        answers = [
            daemon.cli(*args).stdout
            for args in (
                ("status", "--json"), ("settings", "get", "--json"), ("secret", "list"),
                ("history", "--json"), ("agents", "list", "--json"),
            )
        ]  # fmt: skip
        processes = [daemon.process.pid, *_children(daemon.process.pid)]
        processes += [int(p.read_text()) for p in sandbox_host.root.rglob("*.pid")]
        for secret in (PROXY_PASSWORD, TOKEN):
            for path in sandbox_host.root.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    assert secret.encode() not in path.read_bytes(), path
            assert secret not in daemon.log_text()
            for answer in answers:
                assert secret not in answer
            for pid in processes:
                for name in ("cmdline", "environ"):
                    try:
                        data = Path(f"/proc/{pid}/{name}").read_bytes()
                    except (FileNotFoundError, ProcessLookupError):
                        continue
                    assert secret.encode() not in data, (pid, name)

        deleted = daemon.cli("secret", "delete", "mirror-token")
        assert deleted.returncode == 0 and "deleted" in deleted.stdout
        assert "mirror-token: -" in daemon.cli("secret", "list").stdout
    finally:
        daemon.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_secrets_backend_is_shown_and_a_missing_secret_service_is_an_error(
    daemon_without_cdn: RunningDaemon,
) -> None:
    daemon = daemon_without_cdn
    assert "secrets: file keyring (available)" in daemon.cli("status").stdout
    assert daemon.cli("settings", "set", "secrets.backend=secret-service").returncode == 0
    stored = set_secret(daemon, "mirror-token", TOKEN)
    assert stored.returncode == 1
    assert "secret store" in stored.stderr.lower()
    assert "unavailable" in daemon.cli("status").stdout
