"""The frozen executables, run from the unpacked .deb: the CLI, the daemon (API, secrets in
the encrypted file keyring, sd_notify READY/WATCHDOG/STOPPING as its Type=notify unit
expects, SIGTERM) and the tray app offscreen. Each process started here is stopped by PID."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ports import wait_until
from tests.installer.conftest import Package


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No session bus, no display: a root daemon on a server has neither."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "NOTIFY_SOCKET"}
    }
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env |= {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime), **extra}
    return env


def _run(
    binary: Path, *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def _started(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _interrupt(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGINT until it exits: the tray's handler calls QApplication.quit(), which is lost
    if it lands before the event loop runs, and nothing outside tells when that is."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still running {timeout} s after SIGINT")
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(0.5)
    return process.returncode


def test_cli_help_through_a_symlink(package: Package, tmp_path: Path) -> None:
    """As /usr/bin/shepherd runs it: through a symlink into /opt/agent-shepherd."""
    link = tmp_path / "bin" / "shepherd"
    link.parent.mkdir()
    link.symlink_to(package.app / "shepherd")
    started = time.monotonic()
    result = _run(link, "--help", env=_env(tmp_path))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: shepherd")
    assert "daemon" in result.stdout
    assert elapsed < 20, f"shepherd --help took {elapsed:.1f} s"


def test_frozen_versions_and_plain_text_help(package: Package, tmp_path: Path) -> None:
    version = (package.app / "_internal" / "engine" / "VERSION").read_text().strip()
    shown = _run(package.app / "shepherd", "--version", env=_env(tmp_path))
    assert shown.stdout == f"shepherd {version}\n", shown.stderr
    tray = package.tray_app / "shepherd-tray"
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    assert _run(tray, "--version", env=env).stdout == f"shepherd-tray {version}\n"
    help_text = _run(tray, "--help", env=env)
    assert help_text.returncode == 0, help_text.stderr
    assert help_text.stdout.startswith("usage: shepherd-tray")
    assert not re.search(r"``|\*\*|<[a-z]+>", help_text.stdout), help_text.stdout


def test_frozen_tray_turns_autostart_on_and_off_for_this_user(
    package: Package, tmp_path: Path
) -> None:
    tray = package.tray_app / "shepherd-tray"
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / ".config"))
    entry = tmp_path / ".config" / "autostart" / "org.agentshepherd.tray.desktop"
    on = _run(tray, "--autostart", "on", env=env)
    assert on.returncode == 0, on.stderr
    assert "Exec=shepherd-tray\n" in entry.read_text()
    off = _run(tray, "--autostart", "off", env=env)
    assert off.returncode == 0, off.stderr
    assert not entry.exists()


def test_cli_explain_demo(package: Package, tmp_path: Path) -> None:
    """The embedded demo scenario is package data read through importlib.resources."""
    result = _run(package.app / "shepherd", "explain", "--demo", env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("decision:")
    assert "why:" in result.stdout
    assert result.stderr == ""


class _Notify:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.seen: list[str] = []

    def wait_for(self, message: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(message in m.splitlines() for m in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {message!r} from the daemon; got {self.seen}")
            self.sock.settimeout(left)
            with contextlib.suppress(TimeoutError):
                self.seen.append(self.sock.recv(4096).decode())

    def close(self) -> None:
        self.sock.close()


def test_daemon_serves_the_api_and_stops_on_sigterm(package: Package, tmp_path: Path) -> None:
    shepherd = package.app / "shepherd"
    root = tmp_path / "root"
    root.mkdir()
    api = tmp_path / "api.sock"
    notify = _Notify(tmp_path / "notify.sock")
    env = _env(tmp_path, NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="200000")
    argv = [str(shepherd), "--socket", str(api), "daemon", "--root", str(root)]
    try:
        with _started(argv, env, tmp_path / "daemon.log") as daemon:
            started = time.monotonic()
            notify.wait_for("READY=1")
            ready = time.monotonic() - started
            notify.wait_for("WATCHDOG=1")
            client_env = _env(tmp_path)

            def answers() -> bool:
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
                result = _run(shepherd, "--socket", str(api), "status", env=client_env)
                return result.returncode == 0

            wait_until(answers, 30, "the frozen daemon's API")
            status = _run(shepherd, "--socket", str(api), "status", env=client_env)
            assert "No managed agents" in status.stdout
            assert ready < 20, f"the frozen daemon took {ready:.1f} s to be ready"

            # the encrypted file keyring (cryptography, keyring backends) works frozen
            stored = _run(
                shepherd, "--socket", str(api), "secret", "set", "proxy-password",
                env=client_env, stdin="s3cret\n",
            )  # fmt: skip
            assert stored.returncode == 0, stored.stderr
            listing = _run(shepherd, "--socket", str(api), "secret", "list", env=client_env)
            assert "proxy-password" in listing.stdout
            assert "s3cret" not in listing.stdout

            daemon.send_signal(signal.SIGTERM)
            try:
                code = daemon.wait(60)
            except subprocess.TimeoutExpired:
                log = (tmp_path / "daemon.log").read_text()
                pytest.fail(f"the frozen daemon was still running 60 s after SIGTERM:\n{log}")
            assert code == 0, (tmp_path / "daemon.log").read_text()
            notify.wait_for("STOPPING=1")
    finally:
        notify.close()
    log = (tmp_path / "daemon.log").read_text()
    assert "Traceback" not in log
    assert not api.exists()


def test_tray_starts_offscreen_and_quits(package: Package, tmp_path: Path) -> None:
    """The frozen tray app gets as far as its worker asking the daemon for the status (Qt,
    its platform plugin and the engine's API client all loaded), then quits on SIGINT."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "api.sock"))
    listener.listen(4)
    listener.settimeout(60)
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    argv = [str(package.tray_app / "shepherd-tray"), "--socket", str(tmp_path / "api.sock")]
    log = tmp_path / "tray.log"
    try:
        with _started(argv, env, log) as tray:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                pytest.fail(f"the tray never asked the daemon:\n{log.read_text()}")
            connection.close()  # as a daemon going away: the tray shows "not running"
            assert tray.poll() is None, log.read_text()
            assert _interrupt(tray, 30) == 0, log.read_text()
    finally:
        listener.close()
    assert "Traceback" not in log.read_text()
