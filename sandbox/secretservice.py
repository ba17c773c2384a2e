"""A real Secret Service for tests and the demo: a private D-Bus session bus with
gnome-keyring-daemon on it, unlocked non-interactively (the password goes in on stdin, never
in argv or the environment).

    with SessionKeyring(workdir, password="pw") as ring:
        ring.address            # DBUS_SESSION_BUS_ADDRESS for clients
    with SessionKeyring(workdir) as ring:   # same workdir, no password: the login
        ...                                 # collection stays locked

The bus has no service activation, so nothing else can answer for org.freedesktop.secrets.
Both daemons are our children and are stopped by PID.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import secretstorage
from jeepney.io.blocking import open_dbus_connection

from sandbox.ports import wait_until

__all__ = ["SessionKeyring"]

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class SessionKeyring:
    def __init__(self, workdir: Path, *, password: str | None = None) -> None:
        self.workdir = workdir
        self.password = password
        self.address = ""
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None
        self._short_dir: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def start(self) -> SessionKeyring:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are short (108 bytes): the bus socket and the keyring's runtime
        # dir live in a short private directory under /tmp.
        self._short_dir = Path(tempfile.mkdtemp(prefix="shep-bus-", dir="/tmp"))
        (self._short_dir / "run").mkdir(mode=0o700)
        config = self.workdir / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket_dir=self._short_dir))
        address_file = self.workdir / "bus.address"
        with address_file.open("wb") as out:
            self._bus = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                stdout=out,
                stderr=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin"},
            )
        try:
            wait_until(lambda: address_file.read_text().endswith("\n"), 15, "the D-Bus session bus")
            self.address = address_file.read_text().strip()
            self._start_keyring()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_keyring(self) -> None:
        if self._short_dir is None:
            raise RuntimeError("the session bus is not running")
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "XDG_DATA_HOME": str(self.data_dir),
            "XDG_RUNTIME_DIR": str(self._short_dir / "run"),
            "DBUS_SESSION_BUS_ADDRESS": self.address,
        }
        argv = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        if self.password is not None:
            argv.append("--unlock")
        self._keyring = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        stdin = self._keyring.stdin
        if stdin is None:
            raise RuntimeError("gnome-keyring-daemon has no stdin pipe")
        if self.password is not None:
            stdin.write(self.password.encode())
        stdin.close()
        wait_until(self._ready, 20, "gnome-keyring-daemon on the session bus")

    def _ready(self) -> bool:
        if self._keyring is not None and self._keyring.poll() is not None:
            raise RuntimeError(f"gnome-keyring-daemon exited with {self._keyring.returncode}")
        try:
            with contextlib.closing(open_dbus_connection(self.address)) as connection:
                if not secretstorage.check_service_availability(connection):
                    return False
                if self.password is None:
                    return True
                collection = secretstorage.get_default_collection(connection)
                return not collection.is_locked()
        except (OSError, secretstorage.exceptions.SecretStorageException):
            return False

    def stop(self) -> None:
        _stop(self._keyring)
        self._keyring = None
        _stop(self._bus)
        self._bus = None
        if self._short_dir is not None:
            shutil.rmtree(self._short_dir, ignore_errors=True)
            self._short_dir = None

    def pids(self) -> list[int]:
        return [p.pid for p in (self._bus, self._keyring) if p is not None]

    def environ_of_children(self) -> list[bytes]:
        """The environment blocks of the bus and keyring processes (for leak checks)."""
        blocks = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                blocks.append(Path(f"/proc/{pid}/environ").read_bytes())
        return blocks

    def __enter__(self) -> SessionKeyring:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
