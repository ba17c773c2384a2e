"""zypper: the agent from one signed rpm repository, locked between updates.

- Shepherd's repository file ``/etc/zypp/repos.d/shepherd-<name>.repo`` turns every gpg
  check on (``gpgcheck``, ``repo_gpgcheck``, ``pkg_gpgcheck``). The one trusted key is
  imported into the rpm database at ``configure`` (that is zypper's trust store); zypper
  runs ``--non-interactive`` and never ``--gpg-auto-import-keys``, so a repository signed by
  any other key is refused instead of its key being trusted on the spot.
- ``zypper addlock`` is the lock, ``install --oldpackage pkg-VER`` installs up or down.
- With a root other than ``/`` every command gets ``--root``.
"""

from __future__ import annotations

from typing import Any

from engine.errors import PackageError, RepositoryRefused
from engine.packages.base import CommandResult, PackageState
from engine.packages.dnf import rpm_check, rpm_installed, rpm_lock_file
from engine.packages.exact import ExactInstaller

__all__ = ["ZypperBackend"]

_NO_MATCHES = 104  # zypper's ZYPPER_EXIT_INF_CAP_NOT_FOUND


class ZypperBackend(ExactInstaller):
    kind = "zypper"
    lock_files = ("run/zypp.pid",)

    def lock_paths(self) -> list[str]:
        return [rpm_lock_file(self), *self.lock_files]

    @property
    def repo_file(self) -> str:
        return f"etc/zypp/repos.d/{self.key_name}.repo"

    def _base(self) -> list[str]:
        argv = ["zypper", "--non-interactive", "--no-color"]
        if self.runner.root.as_posix() != "/":
            argv += ["--root", str(self.runner.root)]
        return argv

    def _zypper(self, args: list[str], **options: Any) -> CommandResult:
        """``zypper ARGS`` waiting up to ``lock_wait`` for zypp's lock (``ZYPP_LOCK_TIMEOUT``):
        another zypper may take it between ``wait_until_free`` and this command, and zypper
        would otherwise fail at once ("System management is locked")."""
        wait = {"ZYPP_LOCK_TIMEOUT": str(int(self.lock_wait))}
        return self.runner.run([*self._base(), *args], extra_env=wait, **options)

    def _rpm(self) -> list[str]:
        root = self.runner.root.as_posix()
        return ["rpm"] if root == "/" else ["rpm", "--root", root]

    def configure(self) -> None:
        url = self.repo.url
        if self.repo.ca_bundle is not None:  # zypp takes a hashed CA directory (URL option)
            ca_dir = f"etc/shepherd/keys/{self.key_name}-ca"
            self.write_root_file(f"{ca_dir}/ca.pem", self.repo.ca_bundle.read_bytes())
            self.runner.run(["openssl", "rehash", str(self.runner.host_path(ca_dir))])
            url += f"?ssl_capath={self.runner.path(ca_dir)}"
        lines = [
            f"[{self.key_name}]",
            f"name=Teleport ({self.repo.name}, managed by agent-shepherd)",
            f"baseurl={url}",
            "enabled=1",
            "autorefresh=1",
            "type=rpm-md",
            "gpgcheck=1",
            "repo_gpgcheck=1",
            "pkg_gpgcheck=1",
        ]
        self.write_root_file(self.repo_file, "\n".join(lines) + "\n")
        self.runner.run([*self._rpm(), "--import", str(self.repo.key_file)])

    def refresh(self) -> None:
        result = self._zypper(["refresh", "--force", self.key_name], check=False)
        if not result.ok:
            raise RepositoryRefused(
                f"zypper refused {self.described}: {result.tail(800)}; nothing was changed"
            )

    def versions_offered(self, package: str) -> list[str]:
        result = self._zypper(
            [
                "--xmlout",
                "search",
                "--details",
                "--match-exact",
                "--repo",
                self.key_name,
                package,
            ],
            check=False,
        )
        if result.returncode not in (0, _NO_MATCHES):
            raise PackageError(f"zypper search for {package} failed: {result.tail()}")
        import xml.etree.ElementTree as ET  # noqa: PLC0415 - only on a zypper host

        try:
            tree = ET.fromstring(result.stdout)  # noqa: S314 - zypper's own output
        except ET.ParseError as e:
            raise PackageError(f"zypper search for {package} gave no XML: {result.tail()}") from e
        versions = {
            item.get("edition", "").split("-", 1)[0]
            for item in tree.iter("solvable")
            if item.get("name") == package and item.get("kind", "package") == "package"
        }
        return sorted(v for v in versions if v)

    def install(self, package: str, version: str, *, downgrade: bool) -> None:
        self._zypper(
            [
                "install",
                "--oldpackage",
                "--no-recommends",
                "--repo",
                self.key_name,
                f"{package}-{version}",
            ]
        )

    def installed(self, package: str) -> PackageState | None:
        return rpm_installed(self, package)

    def is_locked(self, package: str) -> bool:
        result = self._zypper(["--xmlout", "locks"], check=False, writes=False)
        import xml.etree.ElementTree as ET  # noqa: PLC0415 - only on a zypper host

        try:
            tree = ET.fromstring(result.stdout)  # noqa: S314 - zypper's own output
        except ET.ParseError:
            return False
        return any(node.text == package for node in tree.iter("name"))

    def lock(self, package: str) -> None:
        if not self.is_locked(package):
            self._zypper(["addlock", package])

    def release(self, package: str) -> None:
        if self.is_locked(package):
            self._zypper(["removelock", package])

    def repair(self) -> list[str]:
        return rpm_check(self)
