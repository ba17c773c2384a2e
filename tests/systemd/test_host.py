"""The systemd test host itself: it boots, is isolated from the machine where it must be,
shares its network, and always goes away."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from sandbox.debian_root import RootRecipe, apt_mirror, ensure_root
from sandbox.systemd_host import SystemdHost


def test_the_cached_root_is_reused_and_keyed_by_its_recipe(systemd_root: Path) -> None:
    started = time.monotonic()
    assert ensure_root(RootRecipe.default()) == systemd_root
    assert time.monotonic() - started < 1
    recipe = RootRecipe.default()
    changed = RootRecipe(recipe.suite, (*recipe.packages, "less"), recipe.wheels)
    assert changed.key != recipe.key
    assert systemd_root.name == f"root-{recipe.key}"


def test_the_mirror_comes_from_the_machines_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://security.invalid/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    assert apt_mirror("bookworm", tmp_path) == "http://mirror.invalid/debian"
    assert apt_mirror("bookworm-security", tmp_path) == "http://security.invalid/debian-security"


def test_it_boots_to_running_with_its_own_hostname_tmp_and_run(
    systemd_host: SystemdHost,
) -> None:
    assert systemd_host.systemctl("is-system-running").stdout.strip() == "running"
    assert systemd_host.run("hostname").stdout.strip() == "shepherd-testbed"
    assert socket.gethostname() != "shepherd-testbed"
    assert systemd_host.run("cat", "/proc/1/comm").stdout.strip() == "systemd"
    tmp = systemd_host.run("findmnt", "-n", "-o", "FSTYPE", "/tmp").stdout.strip()
    run = systemd_host.run("findmnt", "-n", "-o", "FSTYPE", "/run").stdout.strip()
    assert (tmp, run) == ("tmpfs", "tmpfs")


def test_the_machines_tmp_survives_a_boot_and_a_poweroff(systemd_root: Path) -> None:
    marker = Path(tempfile.mkstemp(prefix="shepherd-tmp-marker-")[1])
    workdir = Path(tempfile.mkdtemp(prefix="shepherd-systemd-", dir="/var/tmp"))
    try:
        with SystemdHost(systemd_root, workdir) as host:
            host.run("systemd-tmpfiles", "--clean", "--remove", check=False)
        assert marker.exists()
    finally:
        marker.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def test_servers_on_the_machines_loopback_are_reachable_from_inside(
    systemd_host: SystemdHost,
) -> None:
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the machine")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        code = f"import urllib.request; print(urllib.request.urlopen({url!r}).read().decode())"
        assert systemd_host.run("python3", "-c", code).stdout.strip() == "hello from the machine"
    finally:
        server.shutdown()
        server.server_close()


def test_services_run_restart_and_are_counted(systemd_host: SystemdHost) -> None:
    systemd_host.run(
        "systemd-run",
        "--unit=crashy",
        "-p",
        "Restart=always",
        "-p",
        "RestartSec=100ms",
        "/bin/sh",
        "-c",
        "sleep 0.2; exit 3",
    )
    systemd_host.wait_for(
        lambda: int(systemd_host.show("crashy.service", "NRestarts")["NRestarts"]) >= 2,
        30,
        "systemd to restart the crashing unit twice",
    )


def test_a_host_that_does_not_power_off_is_killed_from_outside(systemd_root: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="shepherd-systemd-", dir="/var/tmp"))
    try:
        host = SystemdHost(systemd_root, workdir).boot()
        pid = host.pid
        host.run(
            "systemd-run",
            "--unit=stubborn",
            "-p",
            "TimeoutStopSec=infinity",
            "-p",
            "KillSignal=SIGCONT",
            "/bin/sleep",
            "infinity",
        )
        started = time.monotonic()
        host.poweroff(timeout=3)
        assert time.monotonic() - started < 30
        assert not Path(f"/proc/{pid}").exists()
        assert str(workdir) not in Path("/proc/self/mounts").read_text()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_no_test_host_is_left_running_after_the_others() -> None:
    leftovers = [
        entry.name
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and _read(entry / "comm") == "systemd"
        and "shepherd-systemd-" in _read_link(entry / "root")
        and _read_link(entry / "root").startswith("/var/tmp/")
        and int(entry.name) != os.getpid()
        and _ours(entry)
    ]
    assert leftovers == []


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _read_link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _ours(entry: Path) -> bool:
    """Started by this test session (a descendant of this process)."""
    pid = int(entry.name)
    while pid > 1:
        if pid == os.getpid():
            return True
        fields = _read(Path(f"/proc/{pid}/stat")).rsplit(")", 1)[-1].split()
        pid = int(fields[1]) if len(fields) > 1 else 0
    return False
