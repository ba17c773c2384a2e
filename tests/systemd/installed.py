"""The Shepherd ``.deb`` on a booted systemd host: installed with apt, used with the
installed ``shepherd`` CLI, and a piuparts-like snapshot of the host's files."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sandbox.systemd_host import SystemdHost

SERVICE = "shepherd.service"
# What piuparts ignores too: package manager and cache state, logs, systemd's own state.
_IGNORED = (
    "/var/lib/dpkg/",
    "/var/lib/apt/",
    "/var/cache/",
    "/var/log/",
    "/var/lib/systemd/",
    "/etc/ld.so.cache",
)
# The 'shepherd' group is kept on purge on purpose (it may name users' memberships).
_GROUP_FILES = ("/etc/group", "/etc/group-", "/etc/gshadow", "/etc/gshadow-")
_SNAPSHOT = """
import hashlib, json, os, stat
out = {}
for top, dirs, files in os.walk("/", topdown=True):
    dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(top, d))]
    for name in dirs + files:
        path = os.path.join(top, name)
        st = os.lstat(path)
        kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "o"
        kind = "f" if stat.S_ISREG(st.st_mode) else kind
        extra = os.readlink(path) if kind == "l" else st.st_size if kind == "f" else ""
        changed = ""
        if kind == "f":
            with open(path, "rb") as stream:
                changed = hashlib.sha256(stream.read()).hexdigest()
        out[path] = [kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, extra, changed]
print(json.dumps(out))
"""


@dataclass
class Installed:
    host: SystemdHost

    def apt(self, *args: str, deb: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``apt-get -y ARGS [./DEB]``; the .deb is copied into the host first."""
        extra: list[str] = []
        if deb is not None:
            target = self.host.path(f"/var/tmp/{deb.name}")
            target.write_bytes(deb.read_bytes())
            extra = [f"/var/tmp/{deb.name}"]
        result = self.host.run(
            "apt-get", "-y", *args, *extra,
            env={"DEBIAN_FRONTEND": "noninteractive"}, check=False, timeout=300,
        )  # fmt: skip
        if deb is not None:
            self.host.path(f"/var/tmp/{deb.name}").unlink(missing_ok=True)
        return result

    def shepherd(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.host.run("/usr/bin/agent-shepherd", *args, check=False, timeout=timeout)

    def shepherd_json(self, *args: str) -> object:
        result = self.shepherd(*args, "--json")
        try:
            return json.loads(result.stdout)
        except ValueError as e:
            raise AssertionError(
                f"shepherd {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n"
                f"{result.stderr}\n{self.journal()}"
            ) from e

    def service(self) -> dict[str, str]:
        return self.host.show(
            SERVICE, "ActiveState", "SubState", "MainPID", "NRestarts", "Type", "StatusText",
            "WatchdogUSec", "ExecMainStartTimestampMonotonic",
        )  # fmt: skip

    def journal(self, lines: int = 60) -> str:
        return self.host.run(
            "journalctl", "--no-pager", "-u", SERVICE, "-n", str(lines), check=False
        ).stdout

    def wait_serving(self, timeout: float = 60, *, not_pid: str | None = None) -> str:
        """Wait until shepherd.service is active, told systemd it serves, and answers the
        CLI; returns its MainPID (one other than ``not_pid`` when given)."""
        found: list[str] = []

        def serving() -> bool:
            state = self.service()
            if state["ActiveState"] != "active" or state["MainPID"] in {"0", not_pid}:
                return False
            if self.shepherd("status").returncode != 0:
                return False
            found.append(state["MainPID"])
            return True

        self.host.wait_for(serving, timeout, f"{SERVICE} to be active and answer")
        return found[-1]

    def snapshot(self) -> dict[str, list[object]]:
        out = self.host.run("python3", "-c", _SNAPSHOT, timeout=300).stdout
        snapshot: dict[str, list[object]] = json.loads(out)
        return snapshot


def left_behind_and_changed(
    before: dict[str, list[object]], after: dict[str, list[object]]
) -> tuple[list[str], list[str], list[str]]:
    """(files left behind, files changed, files removed) between two snapshots, without
    what piuparts ignores."""

    def relevant(path: str) -> bool:
        return not path.startswith(_IGNORED) and path not in _GROUP_FILES

    left = sorted(p for p in after.keys() - before.keys() if relevant(p))
    removed = sorted(p for p in before.keys() - after.keys() if relevant(p))
    changed = sorted(
        p for p in before.keys() & after.keys() if relevant(p) and before[p] != after[p]
    )
    return left, changed, removed
