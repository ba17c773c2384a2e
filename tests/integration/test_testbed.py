"""The testbed's own pieces behave as the updater tests rely on: builds, agent, CDN, supervisord."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.agentbuild import Artifact, Behaviour, write_agent_config
from sandbox.cdn import Cdn
from sandbox.certs import CertPair, SandboxCA
from sandbox.ports import wait_until
from sandbox.supervisor import Supervisor
from tests.fixtures.artifacts import MIRROR_PASSWORD, MIRROR_TOKEN, MIRROR_USER

pytestmark = pytest.mark.integration


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=2)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(2)
        sock.connect(str(self._path))
        self.sock = sock


def readyz(data_dir: Path) -> tuple[int, dict[str, object]]:
    connection = _UnixConnection(data_dir / "debug.sock")
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("edition", "fips", "name", "top"),
    [
        ("community", False, "teleport-v17.2.1-linux-amd64-bin.tar.gz", "teleport"),
        ("ent", False, "teleport-ent-v17.2.1-linux-amd64-bin.tar.gz", "teleport-ent"),
        ("ent", True, "teleport-ent-v17.2.1-linux-amd64-fips-bin.tar.gz", "teleport-ent"),
    ],
    ids=["community", "enterprise", "enterprise fips"],
)
def test_artifacts_use_teleport_naming_and_layout(
    artifact_factory: Callable[..., Artifact], edition: str, fips: bool, name: str, top: str
) -> None:
    artifact = artifact_factory("17.2.1", edition=edition, fips=fips)
    assert artifact.path.name == name
    with tarfile.open(artifact.path) as tar:
        names = set(tar.getnames())
    for member in (
        "teleport",
        "tctl",
        "tsh",
        "tbot",
        "fdpass-teleport",
        "teleport-update",
        "examples/systemd/teleport.service",
        "README.md",
        "CHANGELOG.md",
        "VERSION",
    ):
        assert f"{top}/{member}" in names
    digest = hashlib.sha256(artifact.path.read_bytes()).hexdigest()
    assert artifact.sha256 == digest
    checksum = artifact.path.with_name(name + ".sha256").read_text()
    assert checksum == f"{digest}  {name}\n"


@pytest.fixture
def agent_dir(
    tmp_path: Path, artifact_factory: Callable[..., Artifact]
) -> Callable[[str, Behaviour], Path]:
    def unpack(version: str, behaviour: Behaviour) -> Path:
        artifact = artifact_factory(version, behaviour=behaviour)
        target = tmp_path / "versions" / version
        target.mkdir(parents=True)
        with tarfile.open(artifact.path) as tar:
            tar.extractall(target, filter="data")
        return target / "teleport"

    return unpack


class Agent:
    def __init__(self, tmp_path: Path, link: Path) -> None:
        self.link = link
        self.data_dir = tmp_path / "data"
        self.pid_file = tmp_path / "teleport.pid"
        self.config = tmp_path / "teleport.yaml"
        write_agent_config(self.config, self.data_dir)
        self.keeper: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.keeper = subprocess.Popen(
            [
                str(self.link),
                "start",
                "--config",
                str(self.config),
                "--pid-file",
                str(self.pid_file),
            ]
        )

    def stop(self) -> None:
        if self.keeper is not None and self.keeper.poll() is None:
            self.keeper.terminate()
            self.keeper.wait(timeout=10)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Callable[[Path], Agent]]:
    started: list[Agent] = []

    def make(binary_dir: Path) -> Agent:
        link_dir = tmp_path / "bin"
        link_dir.mkdir(exist_ok=True)
        link = link_dir / "teleport"
        link.unlink(missing_ok=True)
        link.symlink_to(binary_dir / "teleport")
        made = Agent(tmp_path, link)
        started.append(made)
        return made

    yield make
    for item in started:
        item.stop()


def test_agent_version_output(agent_dir: Callable[[str, Behaviour], Path]) -> None:
    binary = agent_dir("17.2.1", Behaviour.good()) / "teleport"
    output = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True)
    assert output.stdout.startswith("Teleport v17.2.1 ")


def test_agent_writes_pid_and_answers_readyz_and_reloads_on_sighup(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour.good()))
    running.start()
    wait_until(lambda: alive(pid_in(running.pid_file)), 10, "the agent's PID file")
    first = pid_in(running.pid_file)
    wait_until((running.data_dir / "debug.sock").exists, 10, "the debug socket")
    assert readyz(running.data_dir) == (200, {"status": "ok", "pid": first})

    # Re-exec after the link moved to a new version: the new version takes over.
    new_dir = agent_dir("17.3.0", Behaviour.good())
    running.link.unlink()
    running.link.symlink_to(new_dir / "teleport")
    assert running.keeper is not None
    running.keeper.send_signal(signal.SIGHUP)
    wait_until(lambda: pid_in(running.pid_file) not in (None, first), 10, "a new agent PID")
    second = pid_in(running.pid_file)
    wait_until(lambda: not alive(first), 10, "the old worker to exit")
    wait_until(lambda: readyz(running.data_dir)[1].get("pid") == second, 10, "new readyz")
    assert running.keeper.poll() is None


# Runs a worker of a built agent in-process, SIGHUPs it the instant its PID file is in place
# (as an updater reading that file may), and stands in for its keeper: the re-exec request
# (SIGUSR1 to the keeper) is recorded, then the worker is stopped.
_SIGHUP_AT_PID_FILE = """
import os, runpy, signal, sys
from pathlib import Path

binary, config, pid_file, marker = sys.argv[1:5]
signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as a service manager starts it
agent = runpy.run_path(binary)
real_replace = Path.replace


def replace(self, target):
    moved = real_replace(self, target)
    if str(target) == pid_file:
        os.kill(os.getpid(), signal.SIGHUP)
    return moved


def keeper_asked_to_reexec(signum, frame):
    Path(marker).write_text("re-exec requested\\n")
    os.kill(os.getpid(), signal.SIGTERM)


Path.replace = replace
os.getppid = os.getpid
signal.signal(signal.SIGUSR1, keeper_asked_to_reexec)
sys.exit(agent["worker"](["--config", config, "--pid-file", pid_file]))
"""


def test_agent_handles_a_sighup_sent_as_soon_as_its_pid_file_appears(
    agent_dir: Callable[[str, Behaviour], Path], tmp_path: Path
) -> None:
    binary = agent_dir("17.2.1", Behaviour(no_debug_socket=True)) / "teleport"
    config, pid_file, marker = tmp_path / "t.yaml", tmp_path / "t.pid", tmp_path / "reexec"
    write_agent_config(config, tmp_path / "data")
    paths = [str(binary), str(config), str(pid_file), str(marker)]
    worker = subprocess.run(
        [sys.executable, "-c", _SIGHUP_AT_PID_FILE, *paths],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert worker.returncode == 0, f"killed by the SIGHUP: {worker.returncode} {worker.stderr}"
    assert marker.read_text() == "re-exec requested\n"


def test_agent_that_ignores_sighup_keeps_its_pid(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour(ignore_sighup=True)))
    running.start()
    wait_until(lambda: alive(pid_in(running.pid_file)), 10, "the agent's PID file")
    wait_until((running.data_dir / "debug.sock").exists, 10, "the debug socket")
    first = pid_in(running.pid_file)
    assert running.keeper is not None
    running.keeper.send_signal(signal.SIGHUP)
    assert readyz(running.data_dir)[1]["pid"] == first  # the signal has been handled by now
    assert pid_in(running.pid_file) == first


def test_agent_crash_at_start_exits_non_zero(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour(crash_at_start=True)))
    running.start()
    assert running.keeper is not None
    assert running.keeper.wait(timeout=10) != 0
    assert pid_in(running.pid_file) is None


def test_agent_crash_after_a_while(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour(crash_after=0.5)))
    running.start()
    wait_until(lambda: alive(pid_in(running.pid_file)), 10, "the agent's PID file")
    assert running.keeper is not None
    assert running.keeper.wait(timeout=10) == 2


def test_agent_never_ready_answers_503(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour(never_ready=True)))
    running.start()
    wait_until((running.data_dir / "debug.sock").exists, 10, "the debug socket")
    status, body = readyz(running.data_dir)
    assert status == 503
    assert body["status"] != "ok"


def test_agent_slow_ready_becomes_ready(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour(ready_after=0.5)))
    start = time.monotonic()
    running.start()
    wait_until((running.data_dir / "debug.sock").exists, 10, "the debug socket")
    wait_until(lambda: readyz(running.data_dir)[0] == 200, 10, "readyz 200")
    assert time.monotonic() - start >= 0.5


def test_old_agent_has_no_debug_socket(
    agent_dir: Callable[[str, Behaviour], Path], agent: Callable[[Path], Agent]
) -> None:
    running = agent(agent_dir("17.2.1", Behaviour(no_debug_socket=True)))
    running.start()
    wait_until(lambda: alive(pid_in(running.pid_file)), 10, "the agent's PID file")
    assert not (running.data_dir / "debug.sock").exists()


def client_for(ca: SandboxCA) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(ca.ca_path)))


def test_cdn_serves_artifacts_over_tls_with_ranges(
    cdn: Cdn, artifact_factory: Callable[..., Artifact], sandbox_ca: SandboxCA
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=100_000)
    data = artifact.path.read_bytes()
    with client_for(sandbox_ca) as client:
        full = client.get(cdn.url(artifact.name))
        assert full.status_code == 200
        assert full.content == data
        assert full.headers["accept-ranges"] == "bytes"
        partial = client.get(
            cdn.url(artifact.name),
            headers={"Range": "bytes=1000-", "If-Range": full.headers["etag"]},
        )
        assert partial.status_code == 206
        assert partial.content == data[1000:]
        checksum = client.get(cdn.url(artifact.name + ".sha256"))
        assert checksum.text.startswith(artifact.sha256)
    assert any('"bytes=1000-"' in line for line in cdn.access_log_lines())


def test_cdn_basic_auth(
    cdn_basic_auth: Cdn, artifact_factory: Callable[..., Artifact], sandbox_ca: SandboxCA
) -> None:
    artifact = artifact_factory("17.2.1")
    with client_for(sandbox_ca) as client:
        assert client.get(cdn_basic_auth.url(artifact.name)).status_code == 401
        ok = client.get(cdn_basic_auth.url(artifact.name), auth=(MIRROR_USER, MIRROR_PASSWORD))
        assert ok.status_code == 200
        wrong = client.get(cdn_basic_auth.url(artifact.name), auth=(MIRROR_USER, "nope"))
        assert wrong.status_code == 401


def test_cdn_bearer_token(
    cdn_bearer: Cdn, artifact_factory: Callable[..., Artifact], sandbox_ca: SandboxCA
) -> None:
    artifact = artifact_factory("17.2.1")
    with client_for(sandbox_ca) as client:
        assert client.get(cdn_bearer.url(artifact.name)).status_code == 401
        headers = {"Authorization": f"Bearer {MIRROR_TOKEN}"}
        assert client.get(cdn_bearer.url(artifact.name), headers=headers).status_code == 200


def test_cdn_throttle(
    artifact_dir: Path,
    server_cert: CertPair,
    tmp_path: Path,
    sandbox_ca: SandboxCA,
    artifact_factory: Callable[..., Artifact],
) -> None:
    artifact = artifact_factory("17.2.1", padding_bytes=1_000_000)
    slow = Cdn(artifact_dir, server_cert, workdir=tmp_path / "slow", rate_limit="1m")
    with slow, client_for(sandbox_ca) as client:
        start = time.monotonic()
        assert client.get(slow.url(artifact.name)).status_code == 200
        assert time.monotonic() - start >= 0.5


def test_agent_under_real_supervisord(
    supervisord: Supervisor, agent_dir: Callable[[str, Behaviour], Path], tmp_path: Path
) -> None:
    binary_dir = agent_dir("17.2.1", Behaviour.good())
    config = tmp_path / "sv-teleport.yaml"
    data_dir = tmp_path / "sv-data"
    pid_file = tmp_path / "sv-teleport.pid"
    write_agent_config(config, data_dir)
    supervisord.add_program(
        "teleport",
        [
            str(binary_dir / "teleport"),
            "start",
            "--config",
            str(config),
            "--pid-file",
            str(pid_file),
        ],
    )
    wait_until(lambda: supervisord.state("teleport") == "RUNNING", 20, "RUNNING")
    wait_until(lambda: alive(pid_in(pid_file)), 10, "the agent's PID file")
    first = pid_in(pid_file)
    supervisord.ctl("signal", "HUP", "teleport")
    wait_until(lambda: pid_in(pid_file) not in (None, first), 10, "a reloaded agent")
    assert supervisord.state("teleport") == "RUNNING"
    supervisord.ctl("stop", "teleport")
    assert supervisord.state("teleport") == "STOPPED"
    wait_until(lambda: not alive(first), 10, "the agent to exit")
