"""Tests on a real systemd host booted from the cached Debian root (tests/fixtures/systemdhost.py).
The first test of a session may wait minutes for the root to be built once per machine."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    newer: Path  # the same build repacked as <version>+upgrade1, to test upgrades
    version: str
    newer_version: str


@pytest.fixture(scope="session")
def shepherd_debs(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Debs:
    """The .deb built once per session (or ``SHEPHERD_TEST_DEB``), and a newer repack of it."""
    out = tmp_path_factory.mktemp("systemd-debs")
    given = os.environ.get("SHEPHERD_TEST_DEB")
    if given:
        deb = Path(given).resolve()
    else:
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\n[systemd test host] building the .deb (PyInstaller, once per session)")
        result = subprocess.run(
            [sys.executable, "-m", "installer.build", "deb", "--dist", str(out / "dist"),
             "--work", str(out / "build")],
            cwd=ROOT, capture_output=True, text=True, timeout=850, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
        (deb,) = sorted((out / "dist").glob("*.deb"))
    version = _field(deb, "Version")
    newer_version = f"{version}+upgrade1"
    tree = out / "repack"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    control.write_text(
        control.read_text().replace(f"Version: {version}\n", f"Version: {newer_version}\n")
    )
    newer = out / f"agent-shepherd_{newer_version}_{_field(deb, 'Architecture')}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zzstd", "-z1", "--build", str(tree), str(newer)],
        check=True, capture_output=True,
    )  # fmt: skip
    return Debs(deb, newer, version, newer_version)


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()
