"""A real systemd host for tests: a copy of the cached Debian root, booted with systemd as
PID 1 of its own namespaces, used through ``nsenter``, powered off at the end.

    base = ensure_root(RootRecipe.default())            # sandbox.debian_root, cached
    with SystemdHost(base, workdir, binds=[Bind(src, "/src")]) as host:
        host.run("systemctl", "start", "teleport.service")
        host.show("teleport.service", "MainPID", "NRestarts")
        host.path("/etc/teleport.yaml").read_text()     # the guest's files, from outside

Each host is an overlayfs copy (the cached root below, the host's own changes in
``workdir/upper``), so hosts cannot leak into each other or into the cache. It is booted as
in RECIPES.md: ``unshare --pid --fork --mount --mount-proc`` (plus UTS, IPC and cgroup
namespaces, so its hostname and cgroups are its own), every mount made inside that private
mount namespace, a private ``/run`` and ``/tmp`` — never the machine's, which
systemd-tmpfiles would empty — then ``chroot`` and ``exec /lib/systemd/systemd``. It shares
the machine's network namespace, so servers on 127.0.0.1 are reachable from inside.

Stopping: ``systemctl poweroff``, and if PID 1 is not gone in time it is killed from
outside by its PID (every process of its PID namespace goes with it). Nothing it mounted
outlives it: the mounts belong to its namespace.

``python -m sandbox.systemd_host --help`` does the same by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from sandbox.debian_root import VENV, RootRecipe, ensure_root
from sandbox.ports import wait_until

__all__ = ["Bind", "BootError", "SystemdHost", "main"]

GUEST_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "TERM": "dumb",
}
_CGROUP_PARENTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
_BOOT = """\
set -e
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
# a fresh cgroup2 mount in the new cgroup namespace shows only this host's own subtree
mount -t cgroup2 cgroup2 "$ROOT/sys/fs/cgroup"
mount --rbind /dev "$ROOT/dev"
mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp"
{binds}
# as on a host systemd boots (it does this itself unless it runs in a container): mounts
# propagate into services' namespaces, so 'systemctl bind' works; all inside this namespace
mount --make-rshared "$ROOT"
exec chroot "$ROOT" /lib/systemd/systemd --system --log-target=journal-or-kmsg
"""


class BootError(Exception):
    """The host did not boot, or did not reach ``running`` (names what failed)."""


@dataclass(frozen=True)
class Bind:
    """A host directory bind-mounted into the guest (read-only unless ``writable``)."""

    source: Path
    target: str
    writable: bool = False

    def script(self) -> str:
        target = '"$ROOT"' + shlex.quote(self.target)
        lines = [f"mkdir -p {target}", f"mount --bind {shlex.quote(str(self.source))} {target}"]
        if not self.writable:
            lines.append(f"mount -o remount,bind,ro {target}")
        return "\n".join(lines)


class SystemdHost:
    """One booted copy of a Debian root. A context manager: boots on enter, powers off on
    exit (killing PID 1 from outside if it does not stop in time)."""

    def __init__(self, base: Path, workdir: Path, *, binds: Sequence[Bind] = ()) -> None:
        self.base = base
        self.workdir = workdir
        self.binds = tuple(binds)
        self._process: subprocess.Popen[bytes] | None = None
        self._cgroup: Path | None = None
        self.pid = 0  # PID 1 of the guest, as this machine sees it

    # -- lifetime -------------------------------------------------------------------------

    def boot(self, timeout: float = 120) -> SystemdHost:
        """Boot and wait until ``systemctl is-system-running`` says ``running``.

        Raises:
            BootError: systemd exited, did not answer in ``timeout`` s, or some unit failed.
        """
        for name in ("upper", "work", "merged"):
            (self.workdir / name).mkdir(parents=True, exist_ok=True)
        (self.workdir / "upper" / "etc").mkdir(exist_ok=True)
        (self.workdir / "upper" / "etc" / "machine-id").write_text(uuid.uuid4().hex + "\n")
        boot = self.workdir / "boot.sh"
        boot.write_text(_BOOT.format(binds="\n".join(bind.script() for bind in self.binds)))
        self._cgroup = _new_cgroup(self.workdir.name)
        env = {
            **GUEST_ENV,
            "container": "shepherd-testbed",
            "LOWER": str(self.base),
            "UPPER": str(self.workdir / "upper"),
            "WORK": str(self.workdir / "work"),
            "ROOT": str(self.workdir / "merged"),
        }
        enter = (
            f"echo $$ > {shlex.quote(str(self._cgroup / 'cgroup.procs'))}; " if self._cgroup else ""
        )
        unshare = "unshare --pid --fork --mount --mount-proc --uts --ipc"
        unshare += " --cgroup" if self._cgroup else ""
        with (self.workdir / "boot.log").open("ab") as log:
            self._process = subprocess.Popen(
                ["setsid", "sh", "-c", f"{enter}exec {unshare} sh {shlex.quote(str(boot))}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
        try:
            self.pid = self._find_pid1(timeout=30)
            self._wait_running(timeout)
        except BaseException:
            self.poweroff()
            raise
        return self

    def _find_pid1(self, timeout: float) -> int:
        if self._process is None:
            raise BootError("the test host was not started")
        outer = self._process.pid
        found: list[int] = []

        def systemd_started() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise BootError(f"the boot ended at once: {self.boot_log()}")
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{outer}/task/{outer}/children").read_text().split()
                if children and Path(f"/proc/{children[0]}/comm").read_text().strip() == "systemd":
                    found.append(int(children[0]))
                    return True
            return False

        wait_until(systemd_started, timeout, "systemd to start as PID 1 of the test host")
        return found[0]

    def _wait_running(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BootError(f"systemd exited while booting: {self.boot_log()}")
            result = self.run(
                "systemctl",
                "is-system-running",
                "--wait",
                check=False,
                timeout=deadline - time.monotonic(),
            )
            state = result.stdout.strip()
            if state == "running":
                return
            if state == "degraded":
                failed = self.run("systemctl", "--failed", "--no-legend", "--plain", check=False)
                raise BootError(f"the test host booted degraded; failed units:\n{failed.stdout}")
            time.sleep(0.2)  # not up far enough for systemctl to answer yet
        raise BootError(f"the test host did not reach 'running' in {timeout:.0f} s ({state!r})")

    def poweroff(self, timeout: float = 60) -> None:
        """``systemctl poweroff``; PID 1 killed from outside if it is not gone in ``timeout``
        s. Idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None and self.pid:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self.run("systemctl", "poweroff", "--no-block", check=False, timeout=15)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                print(
                    f"[systemd test host] PID {self.pid} did not power off: killing it",
                    file=sys.stderr,
                )
        if process.poll() is None and self.pid:
            # PID 1 first: its whole PID namespace dies with it and unshare, its parent,
            # reaps it and exits (killing unshare first would leave PID 1 to the machine)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        if process.poll() is None:
            process.kill()
            process.wait(30)
        self._process = None
        if self._cgroup is not None:
            _remove_cgroup(self._cgroup)
            self._cgroup = None

    def __enter__(self) -> SystemdHost:
        return self.boot()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.poweroff()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def boot_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / "boot.log").read_text(errors="replace")[-4000:]
        return ""

    # -- using it ------------------------------------------------------------------------

    def path(self, guest_path: str) -> Path:
        """A path inside the running guest, reachable from outside (through /proc)."""
        if not guest_path.startswith("/"):
            raise ValueError(f"guest paths are absolute: {guest_path!r}")
        return Path(f"/proc/{self.pid}/root{guest_path}")

    def run(
        self,
        *argv: str,
        check: bool = True,
        timeout: float = 120,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str = "/",
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the guest (its namespaces and root) as root.

        Raises:
            subprocess.CalledProcessError: ``check`` and a non-zero exit (output attached).
        """
        if not self.running:
            raise BootError("the test host is not running")
        # -w without a value: PID 1's own working dir, "/" of its root (nsenter's "-w DIR"
        # leaves a working dir outside the new root)
        nsenter = ["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "-r", "-w"]
        if cwd != "/":
            argv = ("sh", "-c", 'cd "$0" && exec "$@"', cwd, *argv)
        if self._cgroup is not None:
            nsenter.append("-C")
        result = subprocess.run(
            [*nsenter, *argv],
            input=input,
            capture_output=True,
            text=True,
            timeout=max(timeout, 1),
            check=False,
            env={**GUEST_ENV, **(env or {})},
        )
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, argv, result.stdout, result.stderr
            )
        return result

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", *args, check=check)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show -p ...`` as a dict."""
        out = self.systemctl("show", unit, *(f"-p{name}" for name in properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def python(
        self,
        code: str,
        *,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` in the guest's venv, with ``/src`` (if bound) importable."""
        return self.run(
            f"{VENV}/bin/python",
            "-c",
            code,
            env={"PYTHONPATH": "/src", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
            check=check,
            timeout=timeout,
        )

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until true; TimeoutError naming ``what`` (and failing fast if
        the host went away)."""

        def check() -> bool:
            if not self.running:
                raise BootError(f"the test host stopped while waiting for {what}")
            return predicate()

        wait_until(check, timeout, what)


def _new_cgroup(name: str) -> Path | None:
    """A fresh cgroup2 directory for one host (its systemd manages only that subtree)."""
    for parent in _CGROUP_PARENTS:
        if (parent / "cgroup.procs").is_file() and (parent / "cgroup.subtree_control").exists():
            path = parent / f"shepherd-testbed-{name}-{uuid.uuid4().hex[:8]}"
            path.mkdir()
            return path
    return None


def _remove_cgroup(path: Path) -> None:
    """Remove a dead host's cgroup tree, deepest first (cgroup dirs are removed with rmdir)."""
    for dirpath, _, _ in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            Path(dirpath).rmdir()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.systemd_host",
        description="Build the cached Debian root of the systemd test host, or boot a copy of "
        "it (systemd as PID 1 of private namespaces, never the machine's /tmp or /run).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the cached root if missing; print its path")
    boot = sub.add_parser("boot", help="boot a copy, print how to enter it, power off on Ctrl-C")
    boot.add_argument("--workdir", type=Path, required=True, help="where the copy lives")
    boot.add_argument("--src", type=Path, help="a source tree to bind read-only at /src")
    run = sub.add_parser("run", help="boot a copy, run one command in it, power it off")
    run.add_argument("--workdir", type=Path, required=True)
    run.add_argument("--src", type=Path)
    run.add_argument("cmd", nargs="+", help="the command (after --)")
    args = parser.parse_args(argv)
    base = ensure_root(RootRecipe.default())
    if args.command == "build":
        print(base)
        return 0
    binds = [Bind(args.src.resolve(), "/src")] if args.src else []
    with SystemdHost(base, args.workdir, binds=binds) as host:
        if args.command == "run":
            result = host.run(*args.cmd, check=False, timeout=3600)
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            return result.returncode
        print(
            f"booted: PID 1 is {host.pid}; enter with\n"
            f"  nsenter -t {host.pid} -m -p -u -i -C -r -w bash"
        )
        print("Ctrl-C powers it off")
        stop = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)
        signal.sigwait(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
