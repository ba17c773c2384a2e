"""Recognise an agent installed by the system package manager (a v1 "package agent").

An agent is a package agent when the dpkg or rpm database has one of Teleport's three
packages (``teleport``, ``teleport-ent``, ``teleport-ent-fips``). Teleport's v1 upgrader
config, ``/etc/teleport-upgrade.d/``, is read when present: ``package`` says which of the
three (when several are registered), ``endpoint`` the channel, ``installer`` the manager,
``schedule`` the maintenance windows the agent exports.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.packages.base import PackageState, Runner
from engine.versions import Flag

__all__ = ["PACKAGE_NAMES", "PackageAgent", "UpgraderConfig", "detect_package_agent"]

PACKAGE_NAMES = ("teleport", "teleport-ent", "teleport-ent-fips")
UPGRADE_DIR = "etc/teleport-upgrade.d"


@dataclass(frozen=True)
class UpgraderConfig:
    """``/etc/teleport-upgrade.d/`` as Teleport's ``teleport-upgrade`` reads it."""

    directory: Path
    endpoint: str | None = None
    package: str | None = None
    installer: str | None = None

    @property
    def schedule_file(self) -> Path:
        return self.directory / "schedule"

    @classmethod
    def read(cls, directory: Path) -> UpgraderConfig:
        def value(name: str) -> str | None:
            try:
                text = (directory / name).read_text(errors="replace").strip()
            except OSError:
                return None
            return text.splitlines()[0].strip() if text else None

        return cls(directory, value("endpoint"), value("package"), value("installer"))


@dataclass(frozen=True)
class PackageAgent:
    package: str
    database: str  # "dpkg" or "rpm"
    state: PackageState
    upgrader: UpgraderConfig

    @property
    def flags(self) -> frozenset[Flag]:
        if self.package == "teleport":
            return frozenset()
        if self.package.endswith("-fips"):
            return frozenset({Flag.ENTERPRISE, Flag.FIPS})
        return frozenset({Flag.ENTERPRISE})


def detect_package_agent(runner: Runner) -> PackageAgent | None:
    """The package agent of the host (``runner.root``), or None when there is none."""
    upgrader = UpgraderConfig.read(runner.host_path(UPGRADE_DIR))
    wanted = [upgrader.package] if upgrader.package in PACKAGE_NAMES else []
    order = [*wanted, *(name for name in PACKAGE_NAMES if name not in wanted)]
    for database, query in (("dpkg", _dpkg_query), ("rpm", _rpm_query)):
        if not _has_database(runner, database):
            continue
        for name in order:
            state = query(runner, name)
            if state is not None:
                return PackageAgent(name, database, state, upgrader)
    return None


def _has_database(runner: Runner, database: str) -> bool:
    if database == "dpkg":
        return runner.host_path("var/lib/dpkg/status").is_file()
    return shutil.which("rpm") is not None


def _dpkg_query(runner: Runner, name: str) -> PackageState | None:
    result = runner.run(
        ["dpkg-query", "--show", "--showformat=${db:Status-Abbrev}|${Version}", name],
        check=False,
        writes=False,
    )
    if not result.ok or "|" not in result.stdout:
        return None
    status, version = result.stdout.strip().split("|", 1)
    if status[1:2] in ("n", "c", ""):
        return None
    return PackageState(name, version, status[1:2] == "i", status.strip())


def _rpm_query(runner: Runner, name: str) -> PackageState | None:
    root = [] if runner.root.as_posix() == "/" else ["--root", str(runner.root)]
    result = runner.run(
        ["rpm", *root, "--query", "--queryformat=%{VERSION}\\n", name], check=False, writes=False
    )
    versions = result.stdout.split() if result.ok else []
    return PackageState(name, versions[-1], len(versions) == 1) if versions else None
