"""What every package-manager backend shares: the repository, the command runner, the seam.

A backend (``AptBackend``, ``DnfBackend``, ``ZypperBackend``) installs exactly one version
of one package from one signed repository that Shepherd configured, and nothing else:

    backend.configure()                 # repository file + trusted key (adopt time; idempotent)
    backend.install_exact(pkg, "17.2.1")  # repair, wait for the lock, refresh (signature
                                          # enforced), check the version is offered, unlock,
                                          # install, verify, lock again
    backend.release(pkg)                # hand-back: the version lock is removed

``root`` is ``/`` in production. In tests it is a separate root: apt runs in it with
``chroot`` (``chroot=True``), dnf and zypper with their own ``--installroot`` / ``--root``.
Every command has a timeout; a foreign failure becomes a ``PackageError`` naming the command.

On a systemd host the daemon's own unit sees the system read-only (``ProtectSystem=strict``),
and a package manager writes all over ``/usr``, ``/etc`` and ``/var``. With
``transient=True`` every command that may write (and every file Shepherd puts in the system's
configuration: the repository file, the key, drop-ins) runs as a transient service
``shepherd-pkg-<word>-<id>.service`` started with ``systemd-run --wait --pipe --collect``, outside
the daemon's sandbox; the daemon itself stays read-only. A timeout stops that unit by name
(its whole cgroup: apt, dpkg, maintainer scripts). Read-only queries (``writes=False``) run
in the daemon's own sandbox.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.errors import InvalidInput, PackageError
from engine.fsutil import atomic_write

__all__ = [
    "CommandResult",
    "PackageBackend",
    "PackageRepo",
    "PackageState",
    "Runner",
    "key_fingerprint",
    "pid_alive",
    "pid_name",
]

_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class PackageRepo:
    """The one repository Shepherd installs the agent from (a host-only setting).

    ``url`` must be https; ``key_file`` is the public key that must have signed it (armored
    ``.asc`` or binary ``.gpg``); ``suite``/``components`` are apt's (``./`` = flat repo).
    """

    name: str
    url: str
    key_file: Path
    ca_bundle: Path | None = None
    suite: str = "./"
    components: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").isalnum():
            raise InvalidInput(f"invalid repository name {self.name!r}: letters, digits and '-'")
        if not self.url.lower().startswith("https://"):
            raise InvalidInput(f"the package repository {self.url!r} must use TLS (https://)")

    def describe(self, fingerprint: str | None) -> str:
        key = f"key {fingerprint}" if fingerprint else f"key file {self.key_file}"
        return f"repository {self.name!r} ({self.url}, {key})"


@dataclass(frozen=True)
class PackageState:
    """One package in the package database: its version, and whether it is fully installed
    (``configured``) or left half-way by an interrupted install (``status`` says how)."""

    name: str
    version: str
    configured: bool = True
    status: str = "installed"


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, limit: int = 1500) -> str:
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return text[-limit:]


# Writes a file atomically from stdin in a transient unit: $1 the path, $2 the mode.
_INSTALL_FILE = (
    'umask 022; mkdir -p -m 0755 "$(dirname "$1")" && cat > "$1.shepherd-new" '
    '&& chmod "$2" "$1.shepherd-new" && mv -f "$1.shepherd-new" "$1"'
)


@dataclass
class Runner:
    """Runs package-manager commands with a timeout, in ``root`` via chroot when asked, in a
    transient systemd unit when ``transient`` (see the module's docstring).

    ``env`` is the whole child environment (nothing of the daemon's leaks into it).
    """

    root: Path = Path("/")
    chroot: bool = False
    timeout: float = 600.0
    env: dict[str, str] = field(default_factory=lambda: dict(_ENV))
    transient: bool = False

    def path(self, relative: str) -> str:
        """How a command sees the file ``root/relative``."""
        relative = relative.lstrip("/")
        return (
            "/" + relative if self.chroot or self.root == Path("/") else str(self.root / relative)
        )

    def host_path(self, relative: str) -> Path:
        """Where Shepherd itself reads and writes ``root/relative``."""
        return self.root / relative.lstrip("/")

    def write_file(self, relative: str, data: bytes, mode: int = 0o644) -> Path:
        """Write ``root/relative`` atomically (temp file in the same dir, then rename); in a
        transient unit when ``transient``.

        Raises:
            PackageError: the file could not be written.
        """
        path = self.host_path(relative)
        if self.transient:
            self.run(
                ["sh", "-c", _INSTALL_FILE, "sh", str(path), f"{mode:04o}"],
                stdin=data,
                timeout=60,
            )
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data, mode=mode)
        except OSError as e:
            raise PackageError(f"could not write {path}: {e}") from e
        return path

    def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        extra_env: dict[str, str] | None = None,
        check: bool = True,
        writes: bool = True,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run ``argv``; ``check`` raises PackageError on a non-zero exit. ``writes=False``
        says the command only reads (it then runs in the daemon's own sandbox).

        Raises:
            PackageError: the command could not start, timed out, or (``check``) failed.
        """
        env = {**self.env, **(extra_env or {})}
        limit = timeout if timeout is not None else self.timeout
        unit = ""
        if self.chroot:
            full = ["chroot", str(self.root), *argv]
        elif self.transient and writes:
            unit = f"shepherd-pkg-{_unit_word(argv[0])}-{uuid.uuid4().hex[:12]}.service"
            full = _systemd_run(unit, env, limit, argv)
        else:
            full = list(argv)
        try:
            done = subprocess.run(
                full,
                capture_output=True,
                input=stdin,
                timeout=limit,
                check=False,
                env=env,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as e:
            if unit:
                _stop_unit(unit)
            raise PackageError(f"{' '.join(argv)} did not finish within {limit:.0f} s") from e
        except OSError as e:
            raise PackageError(f"{full[0]} could not run: {e}") from e
        result = CommandResult(
            tuple(argv),
            done.returncode,
            done.stdout.decode(errors="replace"),
            done.stderr.decode(errors="replace"),
        )
        if check and not result.ok:
            raise PackageError(
                f"{' '.join(argv)} failed (exit {result.returncode}): {result.tail()}"
            )
        return result


def _unit_word(program: str) -> str:
    word = "".join(c for c in Path(program).name if c.isalnum() or c == "-")
    return word or "cmd"


def _systemd_run(unit: str, env: dict[str, str], limit: float, argv: list[str]) -> list[str]:
    """``systemd-run`` for ``argv`` as the transient service ``unit``: waits for it, its
    stdin/stdout/stderr are ours, its exit status is ``systemd-run``'s, it is unloaded when it
    ends (also when it failed), and systemd stops it past ``limit`` seconds should the daemon
    be gone by then."""
    return [
        "systemd-run",
        "--quiet",
        "--wait",
        "--pipe",
        "--collect",
        "--service-type=exec",
        f"--unit={unit}",
        f"--description=agent-shepherd package manager: {Path(argv[0]).name}",
        f"--property=RuntimeMaxSec={int(limit) + 30}",
        *(f"--setenv={key}={value}" for key, value in sorted(env.items())),
        "--",
        *argv,
    ]


def _stop_unit(unit: str) -> None:
    """Stop a transient unit that ran past its timeout: every process in it is killed."""
    for args in (["kill", "--signal=SIGKILL", unit], ["stop", unit]):
        try:
            subprocess.run(
                ["systemctl", *args], capture_output=True, timeout=60, check=False, env=_ENV,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return


class PackageBackend(Protocol):
    """One system package manager. Every method is bounded by the runner's timeouts."""

    kind: str  # "apt", "dnf", "yum", "zypper"
    repo: PackageRepo

    def configure(self) -> None:
        """Write Shepherd's repository definition and trust its key. Idempotent."""

    def installed(self, package: str) -> PackageState | None:
        """The package as the package database has it, or None when not installed."""

    def offered(self, package: str) -> list[str]:
        """The versions the repository offers, after a signature-checked refresh.

        Raises:
            RepositoryRefused: unsigned, wrong or expired key, unreachable (names repo and key).
        """

    def install_exact(self, package: str, version: str) -> PackageState:
        """Install exactly ``version`` (upgrade or downgrade), then lock it.

        Nothing changes when it raises before the install step (refresh, version check).

        Raises:
            RepositoryRefused, VersionUnavailable, PackageManagerBusy, PackageError.
        """

    def is_locked(self, package: str) -> bool:
        """Whether the version lock is set."""

    def lock(self, package: str) -> None:
        """Hold the installed version against the host's own upgrades. Idempotent."""

    def release(self, package: str) -> None:
        """Remove the version lock (hand-back). Idempotent."""

    def repair(self) -> list[str]:
        """Finish what an interrupted install left (e.g. ``dpkg --configure -a``).

        Returns what was repaired (empty when nothing was needed).

        Raises:
            PackageError: the database is still broken afterwards (says what is left).
        """


def pid_name(pid: int) -> str:
    """``1234 (apt-get)``: how an error names a process."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        comm = "?"
    return f"{pid} ({comm})"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def key_fingerprint(key_file: Path) -> str | None:
    """The primary fingerprint of the (first) public key in ``key_file``, via gpg; None when
    gpg is missing or cannot read it (errors then name the key file instead)."""
    with tempfile.TemporaryDirectory(prefix="shepherd-gpg-") as home:
        try:
            done = subprocess.run(
                [
                    "gpg",
                    "--homedir",
                    home,
                    "--batch",
                    "--with-colons",
                    "--show-keys",
                    str(key_file),
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                env=_ENV,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    for line in done.stdout.splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9] or None
    return None
