"""The real ``shepherd-tray`` program as a child process (offscreen Qt), watched through
its log: for the tests of its life cycle (quit, single instance, who may act)."""

from __future__ import annotations

import os
import shutil
import signal
import site
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.ports import wait_until

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 60.0


@dataclass
class TrayProcess:
    process: subprocess.Popen[bytes]
    log: Path
    stderr: Path
    _seen: int = 0  # how much of the log earlier waits consumed

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout: float = WAIT_S) -> str:
        """The first log line with ``text`` after those earlier waits matched."""
        found: list[str] = []

        def logged() -> bool:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"the tray exited ({code}):\n{self.output()}")
            log = self.log_text()
            index = log.find(text, self._seen)
            if index < 0:
                return False
            end = log.find("\n", index)
            self._seen = len(log) if end < 0 else end + 1
            found.append(log[log.rfind("\n", 0, index) + 1 : self._seen])
            return True

        try:
            wait_until(logged, timeout, f"the tray to log {text!r}")
        except TimeoutError as e:
            raise AssertionError(f"{e}; the tray's log and stderr:\n{self.output()}") from e
        return found[0]

    def wait_for_logs(self, *texts: str, timeout: float = WAIT_S) -> None:
        """Each of ``texts`` logged after those earlier waits matched, in any order (for
        things that happen independently, as the panel's registration and the first
        status read)."""
        start = self._seen
        ends = []
        for text in texts:
            self._seen = start
            self.wait_for_log(text, timeout)
            ends.append(self._seen)
        self._seen = max(ends, default=start)

    def output(self) -> str:
        return self.log_text() + self.stderr.read_text(errors="replace")

    def quit(self, sig: int = signal.SIGTERM, timeout: float = WAIT_S) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_tray_process(
    socket: Path,
    home: Path,
    *args: str,
    become: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
    name: str = "tray",
    window: bool = True,
) -> TrayProcess:
    """``python -m gui.app --socket SOCKET --window`` with its state and config under
    ``home`` (``name`` tells the logs of several apart); ``become`` runs in the child
    before it starts (to change user); ``window=False`` lets it pick a panel icon where
    ``env`` names a session bus with a StatusNotifierWatcher. Another user may not reach
    this interpreter (a venv can link into root's home): then the system's Python of the
    same version runs it, with this interpreter's packages on its path."""
    home.mkdir(parents=True, exist_ok=True)
    if become is None:  # its own runtime dir: else the single-instance socket is
        # /tmp/shepherd-tray-<uid>.sock, shared with any other tray of root on the machine
        (home / "run").mkdir(mode=0o700, exist_ok=True)
    log = home / f"{name}.log"
    log.unlink(missing_ok=True)
    stderr = home / f"{name}.stderr.txt"
    environment = {
        **{k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"},
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    python = sys.executable
    if become is not None:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        system = shutil.which(f"python{version}", path="/usr/local/bin:/usr/bin")
        python = system or python
        environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    argv: Sequence[str] = [
        python,
        "-m",
        "gui.app",
        "--socket",
        str(socket),
        *(["--window"] if window else []),
        "--log-file",
        str(log),
        *args,
    ]
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=become,  # noqa: PLW1509 - only changes uid/gid, before exec
        )
    return TrayProcess(process, log, stderr)
