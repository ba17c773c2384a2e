"""dnf (and yum, the same command line): the agent from one signed rpm repository.

- Shepherd's repository file ``/etc/yum.repos.d/shepherd-<name>.repo`` has ``gpgcheck=1``
  (each package's signature), ``repo_gpgcheck=1`` (``repomd.xml.asc``), the one trusted key
  as ``gpgkey`` and ``skip_if_unavailable=0`` (a refused repository is an error, not skipped).
  Every command enables only that repository.
- The lock is yum's ``excludepkgs`` in ``[main]`` of ``dnf.conf`` (what Teleport's v1
  upgrader uses on yum hosts; the versionlock plugin is not always installed): the host's
  own ``dnf upgrade`` then leaves the agent alone. Shepherd's own install lifts it for that
  one command with ``--disableexcludes=main``.
- With a root other than ``/`` every command gets ``--installroot`` and that root's config.
- rpm has no half-configured state to finish; an interrupted transaction shows as a
  duplicate package in ``rpm -q``, which ``repair`` reports (it does not guess).
"""

from __future__ import annotations

import re
import shutil

from engine.errors import PackageError, RepositoryRefused
from engine.packages.base import PackageState
from engine.packages.exact import ExactInstaller

__all__ = ["DnfBackend", "rpm_check", "rpm_installed", "rpm_lock_file"]

_LOCK_MARK = "# agent-shepherd version lock"


class DnfBackend(ExactInstaller):
    kind = "dnf"

    def lock_paths(self) -> list[str]:
        return [rpm_lock_file(self)]

    @property
    def program(self) -> str:
        return "dnf" if shutil.which("dnf") or not shutil.which("yum") else "yum"

    @property
    def repo_file(self) -> str:
        return f"etc/yum.repos.d/{self.key_name}.repo"

    @property
    def key_copy(self) -> str:
        return f"etc/shepherd/keys/{self.key_name}.asc"

    @property
    def config_file(self) -> str:
        return "etc/dnf/dnf.conf" if self.program == "dnf" else "etc/yum.conf"

    def _base(self) -> list[str]:
        argv = [self.program, "--assumeyes", "--quiet", "--setopt=skip_if_unavailable=False"]
        if self.runner.root.as_posix() != "/":
            argv += [
                f"--installroot={self.runner.root}",
                "--releasever=shepherd",
                f"--config={self.runner.host_path(self.config_file)}",
                f"--setopt=reposdir={self.runner.host_path('etc/yum.repos.d')}",
                f"--setopt=cachedir={self.runner.host_path('var/cache/shepherd-dnf')}",
            ]
        return [*argv, "--disablerepo=*", f"--enablerepo={self.key_name}"]

    def configure(self) -> None:
        self.write_root_file(self.key_copy, self.repo.key_file.read_bytes())
        lines = [
            f"[{self.key_name}]",
            f"name=Teleport ({self.repo.name}, managed by agent-shepherd)",
            f"baseurl={self.repo.url}",
            "enabled=1",
            "gpgcheck=1",
            "repo_gpgcheck=1",
            f"gpgkey=file://{self.runner.path(self.key_copy)}",
            "skip_if_unavailable=0",
        ]
        if self.repo.ca_bundle is not None:
            lines.append(f"sslcacert={self.repo.ca_bundle}")
        self.write_root_file(self.repo_file, "\n".join(lines) + "\n")
        config = self.runner.host_path(self.config_file)
        if not config.exists():
            self.write_root_file(self.config_file, "[main]\ngpgcheck=1\n")

    def refresh(self) -> None:
        result = self.runner.run([*self._base(), "makecache", "--refresh"], check=False)
        if not result.ok:
            raise RepositoryRefused(
                f"{self.program} refused {self.described}: {result.tail(800)}; nothing was changed"
            )

    def versions_offered(self, package: str) -> list[str]:
        result = self.runner.run(
            [
                *self._base(),
                "--disableexcludes=main",
                "repoquery",
                "--queryformat=%{version}\\n",
                package,
            ],
            check=False,
        )
        return sorted({line.strip() for line in result.stdout.splitlines() if line.strip()})

    def install(self, package: str, version: str, *, downgrade: bool) -> None:
        verb = "downgrade" if downgrade else "install"
        self.runner.run([*self._base(), "--disableexcludes=main", verb, f"{package}-{version}"])

    def installed(self, package: str) -> PackageState | None:
        return rpm_installed(self, package)

    def is_locked(self, package: str) -> bool:
        return package in self._excluded()

    def lock(self, package: str) -> None:
        if package not in self._excluded():
            self._write_excludes([*self._excluded(), package])

    def release(self, package: str) -> None:
        if package in self._excluded():
            self._write_excludes([name for name in self._excluded() if name != package])

    def _excluded(self) -> list[str]:
        path = self.runner.host_path(self.config_file)
        text = path.read_text() if path.exists() else ""
        for line in text.splitlines():
            if line.endswith(_LOCK_MARK):
                value = line.split("=", 1)[1].removesuffix(_LOCK_MARK)
                return value.split()
        return []

    def _write_excludes(self, names: list[str]) -> None:
        path = self.runner.host_path(self.config_file)
        text = path.read_text() if path.exists() else "[main]\n"
        kept = [line for line in text.splitlines() if not line.endswith(_LOCK_MARK)]
        if names:
            at = next((i for i, line in enumerate(kept) if line.strip() == "[main]"), None)
            entry = f"excludepkgs={' '.join(names)} {_LOCK_MARK}"
            if at is None:
                kept = ["[main]", entry, *kept]
            else:
                kept.insert(at + 1, entry)
        self.write_root_file(self.config_file, "\n".join(kept) + "\n")

    def repair(self) -> list[str]:
        return rpm_check(self)


def rpm_lock_file(backend: ExactInstaller) -> str:
    """rpm's lock, in its database directory (``/var/lib/rpm`` on rpm distributions;
    Debian's rpm keeps it in ``~/.rpmdb``): ``rpm --eval %_dbpath`` says where."""
    result = backend.runner.run(
        ["rpm", "--eval", "%{_dbpath}"], check=False, timeout=30, writes=False
    )
    dbpath = result.stdout.strip() if result.ok and result.stdout.startswith("/") else ""
    return f"{dbpath or '/var/lib/rpm'}/.rpm.lock"


def rpm_installed(backend: ExactInstaller, package: str) -> PackageState | None:
    root = [] if backend.runner.root.as_posix() == "/" else ["--root", str(backend.runner.root)]
    result = backend.runner.run(
        ["rpm", *root, "--query", "--queryformat=%{VERSION}\\n", package], check=False, writes=False
    )
    if not result.ok:
        return None
    versions = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not versions:
        return None
    if len(versions) > 1:  # an interrupted transaction left two versions registered
        return PackageState(package, versions[-1], False, f"duplicate: {', '.join(versions)}")
    return PackageState(package, versions[0])


def rpm_check(backend: ExactInstaller) -> list[str]:
    """rpm cannot be told to 'finish' a transaction: report duplicates, repair nothing."""
    root = [] if backend.runner.root.as_posix() == "/" else ["--root", str(backend.runner.root)]
    result = backend.runner.run(
        ["rpm", *root, "--query", "--all", "--queryformat=%{NAME}\\n"], check=False, writes=False
    )
    names = [n for n in result.stdout.split() if re.fullmatch(r"teleport(-ent(-fips)?)?", n)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PackageError(
            f"the rpm database lists {', '.join(duplicates)} more than once (an interrupted "
            "transaction); finish it by hand ('dnf remove --duplicates' or 'rpm -e' the older)"
        )
    return []
