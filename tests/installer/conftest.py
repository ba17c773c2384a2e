"""The installer tests check the session's two .debs (``tests.fixtures.debbuild``, shared
with the booted systemd host's tests), both unpacked into one tree with ``dpkg-deb -x`` (as
a desktop that installed both), each control part apart with ``-e``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.debbuild import BuiltDebs

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.installer)
            # the first test also waits for the session's build
            item.add_marker(pytest.mark.timeout(900))


@dataclass(frozen=True)
class Package:
    deb: Path  # agent-shepherd (daemon + CLI)
    tray_deb: Path  # agent-shepherd-tray
    root: Path  # both, dpkg-deb -x
    control: Path  # agent-shepherd's, dpkg-deb -e
    tray_control: Path  # agent-shepherd-tray's
    build_seconds: float | None

    @property
    def app(self) -> Path:
        return self.root / "opt" / "agent-shepherd"

    @property
    def tray_app(self) -> Path:
        return self.root / "opt" / "agent-shepherd-tray"


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory, built_debs: BuiltDebs) -> Iterator[Package]:
    deb, tray, build_seconds = built_debs.server, built_debs.tray, built_debs.build_seconds
    unpacked = tmp_path_factory.mktemp("installer-deb")
    for package, control in ((deb, "DEBIAN"), (tray, "DEBIAN-tray")):
        subprocess.run(["dpkg-deb", "-x", str(package), str(unpacked / "root")], check=True)
        subprocess.run(["dpkg-deb", "-e", str(package), str(unpacked / control)], check=True)
    yield Package(
        deb, tray, unpacked / "root", unpacked / "DEBIAN", unpacked / "DEBIAN-tray", build_seconds
    )
