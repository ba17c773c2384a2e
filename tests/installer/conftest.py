"""The installer tests share one build per session: PyInstaller, then the two .debs, in a
temporary directory (never dist/), then both unpacked into one tree with ``dpkg-deb -x``
(as a desktop that installed both), each control part apart with ``-e``.

``SHEPHERD_TEST_DEB=dist/agent-shepherd_<ver>_<arch>.deb`` tests existing packages (the
tray's .deb beside it) instead of building them (quicker while working on the tests).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def tray_deb_beside(deb: Path) -> Path:
    """agent-shepherd-tray_<ver>_<arch>.deb next to agent-shepherd_<ver>_<arch>.deb."""
    return deb.with_name(deb.name.replace("agent-shepherd_", "agent-shepherd-tray_", 1))


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Package]:
    given = os.environ.get("SHEPHERD_TEST_DEB")
    build_seconds = None
    if given:
        deb = Path(given).resolve()
    else:
        if importlib.util.find_spec("PyInstaller") is None:
            pytest.fail("PyInstaller is not installed in the venv (it is in the dev extra)")
        out = tmp_path_factory.mktemp("installer-build")
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "installer.build",
                "deb",
                "--dist",
                str(out / "dist"),
                "--work",
                str(out / "build"),
                "--xz-level",
                "1",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=850,
            check=False,
        )
        build_seconds = time.monotonic() - started
        assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
        debs = sorted(d.name.split("_")[0] for d in (out / "dist").glob("*.deb"))
        assert debs == ["agent-shepherd", "agent-shepherd-tray"], debs
        (deb,) = (out / "dist").glob("agent-shepherd_*.deb")
    tray = tray_deb_beside(deb)
    unpacked = tmp_path_factory.mktemp("installer-deb")
    for package, control in ((deb, "DEBIAN"), (tray, "DEBIAN-tray")):
        subprocess.run(["dpkg-deb", "-x", str(package), str(unpacked / "root")], check=True)
        subprocess.run(["dpkg-deb", "-e", str(package), str(unpacked / control)], check=True)
    yield Package(
        deb, tray, unpacked / "root", unpacked / "DEBIAN", unpacked / "DEBIAN-tray", build_seconds
    )
