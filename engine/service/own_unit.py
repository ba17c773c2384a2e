"""The systemd unit the daemon runs in, and opening its read-only sandbox for one agent.

The installed ``shepherd.service`` sees the file system read-only (``ProtectSystem=strict``)
but for what its ``ReadWritePaths=`` name: the default layout (``/opt/teleport``,
``/usr/local/bin``, ``/var/lib/teleport``, the unit dirs). An agent in a namespace or with a
custom link dir keeps files elsewhere: its data dir (``/var/lib/teleport_<ns>`` or
``teleport.data_dir``, where its updater id lives) and its link dir (update.yaml's
``spec.path``). Before Shepherd writes for such an agent, ``grant`` makes exactly those
directories writable, now and after every restart, without restarting the daemon:

    unit = OwnUnit.detect()            # None: not a systemd service (tests, a shell, the demo)
    unit.grant([link_dir, data_dir])   # does nothing for those already writable here

1  a directory missing on the host is made there (``mkdir`` in a transient unit: the daemon's
   own view of its parent is read-only)
2  the drop-in ``/etc/systemd/system/<unit>.d/60-agent-paths.conf`` lists every granted
   directory in ``ReadWritePaths=`` (written atomically, then ``daemon-reload``): the next
   start of the unit has them
3  ``systemctl bind --mkdir <unit> <dir>`` mounts each, writable, into the running unit's namespace

Only agent directories are granted: a system directory (``/``, ``/usr``, ``/usr/bin``,
``/etc``, ``/var/lib`` ...) or a path with characters systemd would read as specifiers or
separators is refused, whatever update.yaml or the agent config says.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidInput, ServiceError
from engine.fsutil import atomic_write

__all__ = ["DROPIN_NAME", "OwnUnit", "grantable_dir", "read_only_here"]

DROPIN_NAME = "60-agent-paths.conf"
_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._+@/-]*")
# beside every top-level directory (refused for having one component)
_SYSTEM_DIRS = frozenset(
    {
        "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share",
        "/usr/include", "/usr/local", "/var/lib", "/var/cache", "/var/log", "/var/spool",
        "/etc/systemd", "/etc/apt", "/etc/shepherd", "/var/lib/shepherd", "/opt/teleport",
    }
)  # fmt: skip
_HEADER = (
    "# Written by agent-shepherd: the directories of the agents it manages outside the\n"
    "# default layout (namespaced data dirs, custom link dirs), writable in its sandbox.\n"
)


def read_only_here(path: Path) -> bool:
    """Whether ``path`` (or, when missing, its nearest existing parent) is on a read-only
    mount as this process sees it."""
    for candidate in (path, *path.parents):
        try:
            return bool(os.statvfs(candidate).f_flag & os.ST_RDONLY)
        except FileNotFoundError:
            continue
        except OSError:
            return False
    return False


def grantable_dir(path: Path) -> str:
    """``path`` normalised, if the daemon may open it for itself.

    Raises:
        InvalidInput: a system directory, or not a plain absolute path (names it).
    """
    text = os.path.normpath(str(path))
    if not path.is_absolute() or not _SAFE_PATH.fullmatch(text) or ".." in text.split("/"):
        raise InvalidInput(
            f"will not make {str(path)!r} writable for the daemon: only absolute paths of "
            "letters, digits and ._+@- are"
        )
    if text in _SYSTEM_DIRS or text.count("/") < 2:
        raise InvalidInput(
            f"will not make the system directory {text} writable for the daemon: an agent's "
            "link dir or data dir must be a directory of its own"
        )
    return text


@dataclass(frozen=True)
class OwnUnit:
    """The service unit this process runs in (``name``), as systemd started it."""

    name: str
    unit_dir: Path = Path("/etc/systemd/system")
    systemctl: str = "systemctl"

    @classmethod
    def detect(cls, cgroup_file: Path = Path("/proc/self/cgroup")) -> OwnUnit | None:
        """The unit from this process's cgroup (``0::/system.slice/shepherd.service``); None
        outside a systemd service."""
        try:
            lines = cgroup_file.read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            hierarchy, _, path = line.partition(":")[2].partition(":")
            if hierarchy in ("", "name=systemd"):
                name = path.rstrip("/").rsplit("/", 1)[-1]
                if name.endswith(".service"):
                    return cls(name)
        return None

    @property
    def dropin(self) -> Path:
        return self.unit_dir / f"{self.name}.d" / DROPIN_NAME

    def granted(self) -> list[str]:
        """The directories the drop-in lists."""
        try:
            text = self.dropin.read_text()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise ServiceError(f"cannot read {self.dropin}: {e}") from e
        found: list[str] = []
        for line in text.splitlines():
            if line.startswith("ReadWritePaths="):
                found.extend(word.removeprefix("-") for word in line.split("=", 1)[1].split())
        return found

    def grant(self, paths: Iterable[Path]) -> list[str]:
        """Make ``paths`` writable for this unit, now and after restarts; returns the
        directories it opened (empty when all were writable already).

        Raises:
            InvalidInput: a path is a system directory or not a plain absolute path.
            ServiceError: systemd could not make one (names it and what it said).
        """
        wanted = sorted({grantable_dir(path) for path in paths if read_only_here(path)})
        if not wanted:
            return []
        for directory in wanted:
            if not Path(directory).is_dir():
                self._run_outside(["mkdir", "-p", "-m", "0755", directory])
        known = self.granted()
        listed = [*known, *(d for d in wanted if d not in known)]
        if listed != known:
            self.dropin.parent.mkdir(parents=True, exist_ok=True)
            entries = " ".join(f"-{d}" for d in listed)
            atomic_write(self.dropin, f"{_HEADER}[Service]\nReadWritePaths={entries}\n".encode())
            self._systemctl("daemon-reload")
        for directory in wanted:
            try:
                self._systemctl("bind", "--mkdir", self.name, directory)
            except ServiceError as e:  # systemd < 248, or mounts that do not propagate
                raise ServiceError(
                    f"{e}; {directory} is listed in {self.dropin} and becomes writable when "
                    f"{self.name} restarts ('systemctl restart {self.name}' when no update runs)"
                ) from e
        return wanted

    def _systemctl(self, *args: str) -> None:
        self._call([self.systemctl, *args], f"systemctl {' '.join(args)}")

    def _run_outside(self, argv: Sequence[str]) -> None:
        """``argv`` as a transient unit, outside this unit's read-only view."""
        self._call(
            ["systemd-run", "--quiet", "--wait", "--collect", "--pipe", "--", *argv],
            " ".join(argv),
        )

    @staticmethod
    def _call(argv: list[str], what: str) -> None:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=60, check=False, env=_ENV,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ServiceError(f"{what} could not run: {e}") from e
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}")[-500:]
            raise ServiceError(f"{what} failed: {said}")
