"""apt-get / dpkg: the agent from one signed apt repository, held between updates.

- The repository is Shepherd's own source file
  ``/etc/apt/sources.list.d/shepherd-<name>.list`` with ``[signed-by=<keyring>]``, the key in
  ``/etc/shepherd/keys/``: apt trusts only that key for it, not the host's whole keyring.
- ``refresh`` updates only that source (``Dir::Etc::sourcelist``, no ``sourceparts``,
  ``APT::Get::List-Cleanup=0`` so the host's other lists stay) with ``--error-on=any``: plain
  ``apt-get update`` exits 0 on a bad signature, this makes it an error.
- ``install`` is ``apt-get install pkg=VER --allow-downgrades`` non-interactively, keeping the
  host's config files; ``apt-mark hold`` is the lock; ``dpkg --configure -a`` the repair.
- needrestart (Debian/Ubuntu) would restart the agent behind Shepherd's back after an apt
  run: a drop-in tells it to leave ``teleport*`` units alone, as teleport-update does.
"""

from __future__ import annotations

from engine.errors import PackageError, RepositoryRefused
from engine.packages.base import PackageState
from engine.packages.exact import ExactInstaller

__all__ = ["AptBackend"]

_NEEDRESTART = """# Written by agent-shepherd: Shepherd restarts and health-checks the Teleport
# agent itself after an update; needrestart must not restart it behind Shepherd's back.
$nrconf{override_rc}{qr(^teleport)} = 0;
"""


class AptBackend(ExactInstaller):
    kind = "apt"
    lock_files = ("var/lib/dpkg/lock-frontend", "var/lib/dpkg/lock")

    @property
    def source_file(self) -> str:
        return f"etc/apt/sources.list.d/{self.key_name}.list"

    @property
    def keyring(self) -> str:
        suffix = ".asc" if self.repo.key_file.suffix == ".asc" else ".gpg"
        return f"etc/shepherd/keys/{self.key_name}{suffix}"

    def _options(self) -> list[str]:
        options = [f"-o=DPkg::Lock::Timeout={int(self.lock_wait)}"]
        if self.repo.ca_bundle is not None:
            options.append(f"-o=Acquire::https::CaInfo={self.runner.path(self._ca_file)}")
        return options

    @property
    def _ca_file(self) -> str:
        return f"etc/shepherd/keys/{self.key_name}-ca.pem"

    def configure(self) -> None:
        self.write_root_file(self.keyring, self.repo.key_file.read_bytes())
        if self.repo.ca_bundle is not None:
            self.write_root_file(self._ca_file, self.repo.ca_bundle.read_text())
        components = " ".join(self.repo.components)
        line = (
            f"deb [signed-by={self.runner.path(self.keyring)}] {self.repo.url} "
            f"{self.repo.suite} {components}".rstrip()
        )
        self.write_root_file(self.source_file, f"# managed by agent-shepherd\n{line}\n")
        self.write_root_file("etc/needrestart/conf.d/50-shepherd-teleport.conf", _NEEDRESTART)

    def refresh(self) -> None:
        result = self.runner.run(
            [
                "apt-get",
                "update",
                "--error-on=any",
                f"-o=Dir::Etc::sourcelist={self.runner.path(self.source_file)}",
                "-o=Dir::Etc::sourceparts=-",
                "-o=APT::Get::List-Cleanup=0",
                *self._options(),
            ],
            check=False,
        )
        if not result.ok:
            raise RepositoryRefused(
                f"apt refused {self.described}: {result.tail(800)}; nothing was changed"
            )

    def versions_offered(self, package: str) -> list[str]:
        result = self.runner.run(["apt-cache", "madison", package], check=False)
        versions = []
        for line in result.stdout.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) >= 3 and parts[0] == package and parts[2].startswith(self.repo.url):
                versions.append(parts[1])
        return versions

    def install(self, package: str, version: str, *, downgrade: bool) -> None:
        self.runner.run(
            [
                "apt-get",
                "install",
                "--yes",
                "--no-install-recommends",
                "--allow-downgrades",
                "-o=Dpkg::Options::=--force-confdef",
                "-o=Dpkg::Options::=--force-confold",
                *self._options(),
                f"{package}={version}",
            ],
            extra_env={"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_SUSPEND": "1"},
        )

    def installed(self, package: str) -> PackageState | None:
        result = self.runner.run(
            ["dpkg-query", "--show", "--showformat=${db:Status-Abbrev}|${Version}", package],
            check=False,
            writes=False,
        )
        if not result.ok or "|" not in result.stdout:
            return None
        status, version = result.stdout.strip().split("|", 1)
        state = status[1:2]  # the second letter: i installed, F half-configured, U unpacked ...
        if state in ("n", "c", ""):  # not installed / config files only
            return None
        names = {
            "i": "installed",
            "F": "half-configured",
            "U": "unpacked",
            "H": "half-installed",
            "W": "triggers-awaited",
            "t": "triggers-pending",
        }
        return PackageState(package, version, state == "i", names.get(state, status.strip()))

    def is_locked(self, package: str) -> bool:
        result = self.runner.run(["apt-mark", "showhold", package], check=False, writes=False)
        return package in result.stdout.split()

    def lock(self, package: str) -> None:
        self.runner.run(["apt-mark", "hold", package])

    def release(self, package: str) -> None:
        if self.installed(package) is not None:
            self.runner.run(["apt-mark", "unhold", package])

    def repair(self) -> list[str]:
        audit = self.runner.run(["dpkg", "--audit"], check=False, writes=False)
        if audit.ok and not audit.stdout.strip():
            return []
        self.wait_for_lock()
        result = self.runner.run(
            ["dpkg", "--configure", "--pending", "--force-confdef", "--force-confold"],
            check=False,
            extra_env={"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_SUSPEND": "1"},
        )
        left = self.runner.run(["dpkg", "--audit"], check=False, writes=False)
        if not result.ok or left.stdout.strip():
            raise PackageError(
                "a package was left half-installed and 'dpkg --configure --pending' could not "
                f"finish it: {(left.stdout.strip() or result.tail())[-800:]}"
            )
        return ["dpkg --configure --pending finished an interrupted install"]
