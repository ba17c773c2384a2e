"""Tests on a real systemd host booted from the cached Debian root (tests/fixtures/systemdhost.py).
The first test of a session may wait minutes for the root to be built once per machine."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.debbuild import BuiltDebs

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.systemd)
            item.add_marker(pytest.mark.timeout(900))


@dataclass(frozen=True)
class Debs:
    current: Path  # agent-shepherd_<version>_<arch>.deb as `python -m installer.build deb` makes it
    newer: Path  # the same build repacked as <version>+upgrade1 (its engine/VERSION too)
    version: str
    newer_version: str
    tray: Path  # agent-shepherd-tray_<version>_<arch>.deb
    newer_tray: Path


@pytest.fixture(scope="session")
def shepherd_debs(tmp_path_factory: pytest.TempPathFactory, built_debs: BuiltDebs) -> Debs:
    """The session's two .debs (``tests.fixtures.debbuild``) and newer repacks of both."""
    out = tmp_path_factory.mktemp("systemd-debs")
    deb, tray = built_debs.server, built_debs.tray
    version = _field(deb, "Version")
    newer_version = f"{version}+upgrade1"
    return Debs(
        deb,
        _repack(deb, out, version, newer_version),
        version,
        newer_version,
        tray,
        _repack(tray, out, version, newer_version),
    )


def _repack(deb: Path, out: Path, version: str, newer_version: str) -> Path:
    """``deb`` as version ``newer_version``: control fields and the frozen engine/VERSION."""
    name = _field(deb, "Package")
    tree = out / f"repack-{name}"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    text = control.read_text().replace(f"Version: {version}\n", f"Version: {newer_version}\n")
    control.write_text(text.replace(f"(= {version})", f"(= {newer_version})"))
    for version_file in tree.glob("opt/*/_internal/engine/VERSION"):
        version_file.write_text(newer_version + "\n")
    sums = tree / "DEBIAN" / "md5sums"
    sums.write_text("".join(
        f"{hashlib.md5((tree / path).read_bytes(), usedforsecurity=False).hexdigest()}  {path}\n"
        for path in (line.split(maxsplit=1)[1] for line in sums.read_text().splitlines())
    ))  # fmt: skip
    newer = out / f"{name}_{newer_version}_{_field(deb, 'Architecture')}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "-z1", "--build", str(tree), str(newer)],
        check=True, capture_output=True,
    )  # fmt: skip
    return newer


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()
