"""The one install procedure every backend follows (``ExactInstaller.install_exact``).

1  repair what an interrupted install left (dpkg --configure -a; rpm: reported)
2  wait (bounded) until no other process holds the package manager's lock
3  refresh the repository with its signature enforced -> RepositoryRefused
4  the wanted version is offered by it                -> VersionUnavailable
   (nothing has changed on the host up to here)
5  release the version lock, install exactly that version (up or down)
6  the package database now says that version, fully configured -> else PackageError
7  lock the version again — also when 5 or 6 failed, so the host never stays unlocked
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path

from engine.errors import InvalidVersion, PackageError, VersionUnavailable
from engine.packages.base import PackageRepo, PackageState, Runner, key_fingerprint
from engine.packages.pmlock import wait_until_free
from engine.versions import Version

__all__ = ["ExactInstaller"]

_log = logging.getLogger(__name__)


class ExactInstaller(ABC):
    kind: str
    lock_files: tuple[str, ...] = ()  # relative to the root

    def __init__(self, repo: PackageRepo, runner: Runner, *, lock_wait: float = 60.0) -> None:
        self.repo = repo
        self.runner = runner
        self.lock_wait = lock_wait
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str | None:
        if self._fingerprint is None:
            self._fingerprint = key_fingerprint(self.repo.key_file)
        return self._fingerprint

    @property
    def described(self) -> str:
        return self.repo.describe(self.fingerprint)

    @property
    def key_name(self) -> str:
        return f"shepherd-{self.repo.name}"

    def lock_paths(self) -> list[str]:
        """The package manager's lock files, relative to the root."""
        return list(self.lock_files)

    def wait_for_lock(self) -> None:
        paths = [self.runner.host_path(rel) for rel in self.lock_paths()]
        wait_until_free([p for p in paths if p.exists()], self.lock_wait)

    def offered(self, package: str) -> list[str]:
        self.wait_for_lock()
        self.refresh()
        return self.versions_offered(package)

    def install_exact(self, package: str, version: str) -> PackageState:
        repaired = self.repair()
        if repaired:
            _log.warning("repaired the package database first: %s", "; ".join(repaired))
        self.wait_for_lock()
        self.refresh()
        offered = self.versions_offered(package)
        if version not in offered:
            listed = ", ".join(offered) if offered else "no version of it"
            raise VersionUnavailable(
                f"{self.described} does not offer {package} {version} (it offers {listed}); "
                "nothing was changed"
            )
        before = self.installed(package)
        try:
            self.release(package)
            downgrade = before is not None and _older(version, before.version)
            self.install(package, version, downgrade=downgrade)
            after = self.installed(package)
            if after is None or after.version != version or not after.configured:
                seen = f"{after.version} ({after.status})" if after else "not installed"
                raise PackageError(
                    f"after installing {package} {version} from {self.described} the package "
                    f"database says {seen}"
                )
            return after
        finally:
            if self.installed(package) is not None:
                try:
                    self.lock(package)
                except PackageError as e:
                    _log.error("could not lock %s again: %s", package, e)

    # ---- what each package manager does its own way -----------------------------------
    @abstractmethod
    def refresh(self) -> None: ...

    @abstractmethod
    def versions_offered(self, package: str) -> list[str]: ...

    @abstractmethod
    def install(self, package: str, version: str, *, downgrade: bool) -> None: ...

    @abstractmethod
    def installed(self, package: str) -> PackageState | None: ...

    @abstractmethod
    def lock(self, package: str) -> None: ...

    @abstractmethod
    def release(self, package: str) -> None: ...

    @abstractmethod
    def is_locked(self, package: str) -> bool: ...

    @abstractmethod
    def repair(self) -> list[str]: ...

    @abstractmethod
    def configure(self) -> None: ...

    def write_root_file(self, relative: str, data: str | bytes, mode: int = 0o644) -> Path:
        """Write ``root/relative`` atomically (the repository file, the key, a drop-in).

        Raises:
            PackageError: it could not be written.
        """
        return self.runner.write_file(
            relative, data.encode() if isinstance(data, str) else data, mode
        )


def _older(wanted: str, current: str) -> bool:
    try:
        return Version.parse(wanted) < Version.parse(current)
    except InvalidVersion:
        return wanted != current
